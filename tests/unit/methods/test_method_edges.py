"""The interface's defaults and the refusals at the edges of the built-in methods that their
own tests reach only through the core: a method's defaults (the credential an answer comes
from, no first step, no token files, no claims), the WebAuthn relying-party checks on
unreadable input, hardware tokens that cannot be enrolled by people, and token files that
hold nothing usable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import (
    ChallengeState,
    ChallengeView,
    CredentialState,
    CredentialView,
    Door,
    Purpose,
    UserRef,
)
from portvakt.errors import Invalid
from portvakt.methods.base import FactorResponse, TokenFile
from portvakt.methods.oath import OathMethod, csvfile
from portvakt.methods.totp import TotpMethod
from portvakt.methods.webauthn import checks
from portvakt.methods.yubiotp import YubicoOtpMethod, importer
from portvakt.methods.yubiotp import otp as yotp
from portvakt.settings import Settings

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
USER = UserRef(id=7, username="alice", display_name="Alice")


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(Settings(data_dir=tmp_path), _Clock(), KeyRing({"k": bytes(32)}, "k"), Door.WEB)


def _cred(credential_id: int, kind: str = "totp", secret: bytes | None = None) -> CredentialView:
    return CredentialView(
        credential_id, 7, kind, "", CredentialState.ACTIVE, False, {}, NOW, None, secret=secret
    )


def _challenge(bound: int | None) -> ChallengeView:
    return ChallengeView(
        "tx", "totp", 7, Purpose.SIGNIN, ChallengeState.PENDING, bound, {}, NOW, NOW
    )


def test_the_defaults_of_the_interface(ctx: Context) -> None:
    method = TotpMethod()
    one, two = _cred(1), _cred(2)
    answer = FactorResponse(code="123456")
    assert method.answering_credential(_challenge(2), answer, [one, two]) == two
    assert method.answering_credential(_challenge(None), answer, [one]) == one
    assert method.answering_credential(_challenge(None), answer, [one, two]) is None
    assert method.identify(ctx, answer) is None
    with pytest.raises(NotImplementedError):
        method.first_step_options(ctx, b"c" * 32)
    parsed = method.parse_tokens(TokenFile(data=b"", fmt="csv"))
    assert [r.reason for r in parsed.rejected] == ["unknown_format"]
    assert method.verify_claim(ctx, one, ["1", "2"]).reason == "not_claimable"


@pytest.mark.parametrize(
    "payload",
    [
        {"response": {"clientDataJSON": "!!"}},
        {"response": {"clientDataJSON": "WzFd"}},  # [1]: JSON, not an object
        {"response": "not an object"},
    ],
    ids=["not-base64", "not-an-object", "response-not-an-object"],
)
def test_unreadable_client_data_is_nobody_s_frame(payload: dict[str, object]) -> None:
    assert checks.client_data(payload) == {} and not checks.framed(payload)


def test_an_unreadable_user_handle_matches_no_one() -> None:
    assert checks.user_handle({"response": {"userHandle": "a"}}) == b"?"
    assert checks.user_handle({"response": {"userHandle": ""}}) is None


@pytest.mark.parametrize("method", [OathMethod(), YubicoOtpMethod()], ids=["oath", "yubiotp"])
def test_hardware_tokens_are_not_enrolled_by_people(ctx: Context, method: object) -> None:
    with pytest.raises(Invalid, match="not_enrollable"):
        method.begin_enrollment(ctx, USER)  # type: ignore[attr-defined]
    assert method.enrollment_display(ctx, USER, _cred(1)) == {}  # type: ignore[attr-defined]
    no_secret = method.verify(ctx, _cred(1), None, FactorResponse(code="x"))  # type: ignore[attr-defined]
    assert no_secret.reason == "no_secret"


def test_an_oath_code_of_the_wrong_length_and_an_unreadable_claim(ctx: Context) -> None:
    method = OathMethod()
    parsed = method.parse_tokens(
        TokenFile(data=b"fob-9,3132333435363738393031323334353637383930,hotp,6,0\n", fmt="csv")
    )
    (token,) = parsed.tokens
    cred = CredentialView(
        1,
        7,
        "oath",
        "",
        CredentialState.ACTIVE,
        False,
        dict(token.params),
        NOW,
        None,
        counter=None,
        secret=token.secret,
    )
    assert method.verify(ctx, cred, None, FactorResponse(code="12345678")).reason == "wrong_code"
    assert method.verify_claim(ctx, cred, ["12x456", "123456"]).reason == "wrong_code"


def test_token_files_with_nothing_usable() -> None:
    assert [r.reason for r in csvfile.parse(b"serial,secret\n").rejected] == ["no_keys"]
    assert [r.reason for r in csvfile.parse(b"fob,hex:zz,hotp,6,0\n").rejected] == ["bad_secret"]
    many = b"".join(
        b"f%d,3132333435363738393031323334353637383930,hotp,6,0\n" % n for n in range(100_001)
    )
    assert csvfile.parse(many).rejected[-1].reason == "too_many_rows"
    assert [r.reason for r in importer.parse(b"\xff\xfe\x00").rejected] == ["not_utf8"]
    assert [r.reason for r in importer.parse(b"LOGGING START,x\n").rejected] == ["no_keys"]
    zero_key = b"1,vvccccfiluij,8792ebfe26cc," + b"00" * 16 + b"\n"
    assert [r.reason for r in importer.parse(zero_key).rejected] == ["bad_aes_key"]
    with pytest.raises(yotp.BadOtp, match="bad_modhex"):
        yotp.to_bytes("zz")
