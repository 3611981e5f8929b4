"""Yubico OTP: the published example tokens decrypt to their published fields; modhex, CRC,
private id and counters are checked; the personalization tool's log is read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.core.oidc.levels import Level, session_amr, session_level
from portvakt.core.sessions import SessionView
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import CredentialState, CredentialView, Door, UserRef
from portvakt.methods.base import FactorResponse
from portvakt.methods.registry import BUILT_IN, Registry
from portvakt.methods.yubiotp import YubicoOtpMethod, importer
from portvakt.methods.yubiotp import otp as yotp
from portvakt.settings import Settings

# The Yubico OTP specification's example: AES key, token, and what it decrypts to
SPEC_KEY = bytes.fromhex("ecde18dbe76fbd0c33330f1c354871db")
SPEC_OTP = "dteffujehknhfjbrjnlnldnhcujvddbikngjrtgh"


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 12, 5, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(Settings(data_dir=tmp_path), _Clock(), KeyRing({"k": bytes(32)}, "k"), Door.WEB)


def test_the_specification_example_decrypts() -> None:
    public, token = yotp.split(SPEC_OTP)
    plain = yotp.decrypt(token, SPEC_KEY)
    assert public == "dteffuje"
    assert plain.private_id.hex() == "8792ebfe26cc"
    assert (plain.usage, plain.session, plain.timestamp) == (19, 17, 49712)
    assert plain.counter == 19 << 8 | 17


@pytest.mark.parametrize(
    ("code", "key", "private_id", "usage", "session"),
    [
        # yubiotp's documented example (key "0123456789abcdef" as ASCII)
        ("cclngiuvttkhthcilurtkerbjnnkljfkjccklkhl", b"0123456789abcdef", "0123456789ab", 5, 0),
        # a 44-character OTP (a 6-byte public id) under the all-zero key
        ("cbcdcecfcgchkgnhckifdncgiflkcediddgrldhuubth", bytes(16), "0708090a0b0c", 1, 1),
    ],
)
def test_published_tokens_decrypt(
    code: str, key: bytes, private_id: str, usage: int, session: int
) -> None:
    plain = yotp.decrypt(yotp.split(code)[1], key)
    assert (plain.private_id.hex(), plain.usage, plain.session) == (private_id, usage, session)


def test_modhex_round_trip_and_refusals() -> None:
    assert yotp.to_modhex(bytes.fromhex("69b6481c8baba2b60e8f22179b58cd56")) == (
        "hknhfjbrjnlnldnhcujvddbikngjrtgh"
    )
    for bad in ("", "abc", "dteffujehknhfjbrjnlnldnhcujvddbikngjrtgx", "c" * 31, "c" * 66):
        with pytest.raises(yotp.BadOtp):
            yotp.split(bad)


def _cred(counter: int | None = None) -> CredentialView:
    secret = SPEC_KEY + bytes.fromhex("8792ebfe26cc")
    return CredentialView(
        1,
        7,
        "yubiotp",
        "dteffuje",
        CredentialState.ACTIVE,
        True,
        {"serial": "dteffuje"},
        datetime(2026, 12, 5, tzinfo=UTC),
        None,
        counter=counter,
        secret=secret,
    )


def test_verify_the_specification_example(ctx: Context) -> None:
    method = YubicoOtpMethod()
    code = method.normalise_response(f"  {SPEC_OTP.upper()} ")
    assert code == SPEC_OTP
    verdict = method.verify(ctx, _cred(), None, FactorResponse(code=code))
    assert verdict.ok and verdict.counter is not None and verdict.counter.value == 19 << 8 | 17
    replay = method.verify(ctx, _cred(19 << 8 | 17), None, FactorResponse(code=code))
    assert (replay.ok, replay.reason) == (False, "replay")
    assert method.normalise_response("123456") is None
    assert method.normalise_response(SPEC_OTP[:-1] + "x") is None


def test_bad_crc_other_key_and_wrong_private_id_are_refused(ctx: Context) -> None:
    method = YubicoOtpMethod()
    flipped = SPEC_OTP[:-1] + ("c" if SPEC_OTP[-1] != "c" else "b")
    assert method.verify(ctx, _cred(), None, FactorResponse(code=flipped)).reason == "bad_crc"
    other = "vvvvvvvv" + SPEC_OTP[8:]
    assert method.verify(ctx, _cred(), None, FactorResponse(code=other)).reason == "other_key"
    forged = "dteffuje" + yotp.encrypt(SPEC_KEY, bytes(6), 20, 0)
    verdict = method.verify(ctx, _cred(), None, FactorResponse(code=forged))
    assert verdict.reason == "wrong_private_id"


def test_the_personalization_log_in_both_formats() -> None:
    key = SPEC_KEY.hex()
    data = (
        "LOGGING START,05.12.26 12:00\n"
        f"Yubico OTP,05.12.26 12:00,1,dteffuje,8792ebfe26cc,{key},,,0,0,0,0,0,0,0,0,0,0\n"
        f"1234567,vvccccdcbbbb,010203040506,{key},000000000000,2026-12-05T12:00:00,\n"
    )
    parsed = importer.parse(data.encode())
    assert parsed.rejected == ()
    assert [t.serial for t in parsed.tokens] == ["dteffuje", "vvccccdcbbbb"]
    assert parsed.tokens[0].secret == SPEC_KEY + bytes.fromhex("8792ebfe26cc")
    bad = importer.parse(b"Yubico OTP,x,1,dteffuje,8792ebfe26,00\nStatic,x\n")
    assert [(r.where, r.reason) for r in bad.rejected] == [
        ("row 1", "bad_private_id"),
        ("row 2", "not_yubico_otp"),
    ]


@pytest.mark.parametrize("kind", ["yubiotp", "oath"])
def test_oidc_reports_a_hardware_key_and_an_otp(kind: str) -> None:
    registry = Registry(BUILT_IN)
    at = datetime(2026, 12, 5, tzinfo=UTC)
    view = SessionView("s", UserRef(1, "alice", "Alice"), at, at, kind, remembered=False)
    assert session_amr(registry, view) == ["pwd", "hwk", "otp", "mfa"]
    assert session_level(registry, view) is Level.MFA
