"""The TOTP method: enrolment, display, response cleaning and verification (SECURITY.md §2.A)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from portvakt.context import Context
from portvakt.crypto import otp
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import CredentialState, CredentialView, Door, UserRef
from portvakt.methods.base import Counter, FactorResponse, Method, Strength
from portvakt.methods.totp import TotpMethod
from portvakt.methods.totp.method import TotpSettings, group_secret
from portvakt.methods.totp.params import params_from_json, params_to_json
from portvakt.settings import Settings

# Middle of a 30 s step: ±30 s are the neighbouring steps, ±60 s two steps away.
NOW = datetime(2025, 3, 10, 12, 0, 15, tzinfo=UTC)
SEED = b"12345678901234567890"
SEED_256 = b"12345678901234567890123456789012"
USER = UserRef(id=7, username="alice@example.org", display_name="Alice")


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def make_ctx(tmp_path: Path, *, at: datetime = NOW, issuer: str = "Portvakt") -> Context:
    settings = Settings(data_dir=tmp_path, issuer=issuer)
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(settings=settings, clock=FixedClock(at), box=box, door=Door.WEB)


def make_cred(
    secret: bytes | None = SEED,
    *,
    counter: int | None = None,
    params: Mapping[str, Any] | None = None,
) -> CredentialView:
    return CredentialView(
        id=1,
        user_id=USER.id,
        kind="totp",
        label="Phone",
        state=CredentialState.ACTIVE,
        is_default=True,
        params=dict(params) if params is not None else params_to_json(otp.OtpParams()),
        created_at=NOW - timedelta(days=1),
        last_used_at=None,
        counter=counter,
        secret=secret,
    )


def code_at(at: datetime, secret: bytes = SEED, params: otp.OtpParams | None = None) -> str:
    return otp.totp(secret, at.timestamp(), params or otp.OtpParams())


def step_at(at: datetime) -> int:
    return otp.time_step(at.timestamp())


@pytest.fixture
def method() -> TotpMethod:
    return TotpMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return make_ctx(tmp_path)


def test_totp_method_satisfies_method_protocol(method: TotpMethod) -> None:
    """STYLE §3.2: the kind string equals the folder name; TOTP reports amr ``otp``."""
    as_method: Method = method
    assert as_method.kind == "totp"
    assert method.capabilities.amr == ("otp",)
    assert method.capabilities.strength is Strength.STRONG
    assert method.capabilities.interactive is True


# -- enrolment (OTP-06, OTP-07) ---------------------------------------------------------------


def test_begin_enrollment_creates_twenty_byte_seed(method: TotpMethod, ctx: Context) -> None:
    """OTP-06: a fresh 160-bit seed from ``secrets`` for every enrolment."""
    first = method.begin_enrollment(ctx, USER)
    second = method.begin_enrollment(ctx, USER)
    assert first.secret is not None and len(first.secret) == 20
    assert first.secret != second.secret


def test_begin_enrollment_uses_sha1_six_digits_thirty_seconds(
    method: TotpMethod, ctx: Context
) -> None:
    """SECURITY.md §1: SHA1/6/30, the only set every authenticator app honours."""
    step = method.begin_enrollment(ctx, USER)
    assert step.params == {"algorithm": "SHA1", "digits": 6, "period": 30}


def test_begin_enrollment_keeps_secret_out_of_repr(method: TotpMethod, ctx: Context) -> None:
    """OTP-09: seeds are never logged."""
    step = method.begin_enrollment(ctx, USER)
    assert step.secret is not None
    assert otp.b32(step.secret) not in repr(step)
    assert repr(step.secret) not in repr(step)


def test_enrollment_display_uri_round_trips_through_pyotp(method: TotpMethod, ctx: Context) -> None:
    """OTP-07: issuer from settings, account = username, secret = the credential's seed."""
    shown = method.enrollment_display(ctx, USER, make_cred())
    parsed = pyotp.parse_uri(shown["uri"])
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == otp.b32(SEED)
    assert parsed.issuer == "Portvakt"
    assert parsed.name == USER.username
    assert parsed.digits == 6
    assert parsed.at(NOW) == code_at(NOW)


def test_enrollment_display_uri_secret_decodes_to_twenty_bytes(
    method: TotpMethod, ctx: Context
) -> None:
    """OTP-06: the ``secret`` in the otpauth URI is 32 base32 characters = 20 bytes."""
    step = method.begin_enrollment(ctx, USER)
    cred = make_cred(step.secret, params=step.params)
    parsed = pyotp.parse_uri(method.enrollment_display(ctx, USER, cred)["uri"])
    assert len(parsed.secret) == 32
    assert len(otp.b32decode(parsed.secret)) == 20


def test_enrollment_display_handles_colon_in_issuer(method: TotpMethod, tmp_path: Path) -> None:
    """OTP-07: an issuer with ``:`` is made colon-free in both label and parameter."""
    shown = method.enrollment_display(make_ctx(tmp_path, issuer="Acme:IT"), USER, make_cred())
    parsed = pyotp.parse_uri(shown["uri"])
    assert (parsed.issuer, parsed.name) == ("Acme IT", USER.username)


def test_enrollment_display_uses_credential_params(method: TotpMethod, ctx: Context) -> None:
    """OTP-07: non-default params reach the URI."""
    params = params_to_json(otp.OtpParams(algorithm="SHA256", digits=8, period=60))
    shown = method.enrollment_display(ctx, USER, make_cred(SEED_256, params=params))
    assert "algorithm=SHA256&digits=8&period=60" in shown["uri"]


def test_enrollment_display_groups_secret_text_in_fours(method: TotpMethod, ctx: Context) -> None:
    """The typed-in fallback shows the seed as 8 groups of 4 base32 characters."""
    shown = method.enrollment_display(ctx, USER, make_cred())
    assert shown["secret_text"] == "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
    assert otp.b32decode(shown["secret_text"]) == SEED


def test_enrollment_display_rejects_credential_without_secret(
    method: TotpMethod, ctx: Context
) -> None:
    with pytest.raises(ValueError, match="without a secret"):
        method.enrollment_display(ctx, USER, make_cred(None))


@pytest.mark.parametrize(
    ("text", "want"),
    [("ABCDEFGH", "ABCD EFGH"), ("ABCDEF", "ABCD EF"), ("", ""), ("ABC", "ABC")],
)
def test_group_secret_splits_into_groups_of_four(text: str, want: str) -> None:
    assert group_secret(text) == want


# -- params -----------------------------------------------------------------------------------


def test_params_round_trip_through_json() -> None:
    params = otp.OtpParams(algorithm="SHA512", digits=8, period=60)
    assert params_from_json(params_to_json(params)) == params


def test_params_from_json_defaults_missing_keys() -> None:
    assert params_from_json({}) == otp.OtpParams()


def test_params_from_json_rejects_unsupported_value() -> None:
    """OTP-07: stored params are validated on load."""
    with pytest.raises(ValueError, match="unsupported"):
        params_from_json({"algorithm": "MD5"})


# -- normalise_response -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("287082", "287082"),
        ("287 082", "287082"),
        ("287-082", "287082"),
        (" 287082 ", "287082"),
        ("\t287082\n", "287082"),
        ("9428 7082", "94287082"),
        ("005924", "005924"),
    ],
)
def test_normalise_response_strips_spaces_and_dashes(
    method: TotpMethod, raw: str, want: str
) -> None:
    assert method.normalise_response(raw) == want


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "28708",
        "2870820",
        "942870821",
        "28708a",
        "+287082",
        "287.082",
        "٢٨٧٠٨٢",
        "２８７０８２",
        "²⁸⁷⁰⁸²",
    ],
)
def test_normalise_response_returns_none_for_impossible_code(method: TotpMethod, raw: str) -> None:
    """Only 6 or 8 ASCII digits can ever be valid."""
    assert method.normalise_response(raw) is None


# -- verify (OTP-01, OTP-02, OTP-03) ----------------------------------------------------------


def test_verify_accepts_current_code_and_returns_its_step(method: TotpMethod, ctx: Context) -> None:
    """OTP-03: the accepted step is returned as the new replay state."""
    verdict = method.verify(ctx, make_cred(), None, FactorResponse(code_at(NOW)))
    assert verdict.ok is True
    assert verdict.counter == Counter(step_at(NOW))


@pytest.mark.parametrize("seconds", [-30, 30])
def test_verify_accepts_code_one_step_away_at_window_one(
    method: TotpMethod, ctx: Context, seconds: int
) -> None:
    """OTP-02: code(t-30) and code(t+30) are accepted at the default window 1."""
    at = NOW + timedelta(seconds=seconds)
    verdict = method.verify(ctx, make_cred(), None, FactorResponse(code_at(at)))
    assert verdict.ok is True
    assert verdict.counter == Counter(step_at(at))


@pytest.mark.parametrize("seconds", [-60, 60])
def test_verify_rejects_code_two_steps_away_at_window_one(
    method: TotpMethod, ctx: Context, seconds: int
) -> None:
    """OTP-02: code(t-60) and code(t+60) are rejected as a wrong code."""
    code = code_at(NOW + timedelta(seconds=seconds))
    verdict = method.verify(ctx, make_cred(), None, FactorResponse(code))
    assert (verdict.ok, verdict.reason, verdict.counter) == (False, "wrong_code", None)


@pytest.mark.parametrize("seconds", [-30, 30])
def test_verify_rejects_code_one_step_away_at_window_zero(tmp_path: Path, seconds: int) -> None:
    """OTP-02: the window comes from settings (``[methods.totp] window = 0``)."""
    method = TotpMethod()
    method.configure(TotpSettings(window=0))
    ctx = make_ctx(tmp_path)
    code = code_at(NOW + timedelta(seconds=seconds))
    assert method.verify(ctx, make_cred(), None, FactorResponse(code)).reason == "wrong_code"
    assert method.verify(ctx, make_cred(), None, FactorResponse(code_at(NOW))).ok is True


def test_verify_uses_context_clock_not_wall_clock(method: TotpMethod, tmp_path: Path) -> None:
    """OTP-02: time comes from the server's (injected) clock."""
    past = datetime(2001, 9, 9, 1, 46, 45, tzinfo=UTC)
    ctx = make_ctx(tmp_path, at=past)
    assert method.verify(ctx, make_cred(), None, FactorResponse(code_at(past))).ok is True


def test_verify_rejects_code_replayed_in_same_step(method: TotpMethod, ctx: Context) -> None:
    """OTP-03: a step equal to the last accepted one (``Verdict.counter``) is a replay."""
    first = method.verify(ctx, make_cred(), None, FactorResponse(code_at(NOW)))
    assert first.ok is True
    again = method.verify(
        ctx,
        make_cred(counter=first.counter.value if first.counter else None),
        None,
        FactorResponse(code_at(NOW)),
    )
    assert (again.ok, again.reason, again.counter) == (False, "replay", None)


def test_verify_rejects_older_code_after_newer_step_was_used(
    method: TotpMethod, ctx: Context
) -> None:
    """OTP-03: after step T+1 was accepted, code(T) and code(T-1) are replays."""
    newest = step_at(NOW) + 1
    for seconds in (0, -30):
        code = code_at(NOW + timedelta(seconds=seconds))
        verdict = method.verify(ctx, make_cred(counter=newest), None, FactorResponse(code))
        assert (verdict.ok, verdict.reason) == (False, "replay")


def test_verify_accepts_step_after_last_accepted_step(method: TotpMethod, ctx: Context) -> None:
    """OTP-03: only steps ≤ the last accepted step are refused; the next one passes."""
    current = step_at(NOW)
    verdict = method.verify(ctx, make_cred(counter=current - 1), None, FactorResponse(code_at(NOW)))
    assert (verdict.ok, verdict.counter) == (True, Counter(current))


def test_verify_reports_replay_at_rfc_epoch_with_counter_zero(
    method: TotpMethod, tmp_path: Path
) -> None:
    """OTP-03: step 0 with stored counter 0 is a replay (0 is not treated as "no state")."""
    epoch = datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)
    ctx = make_ctx(tmp_path, at=epoch)
    verdict = method.verify(ctx, make_cred(counter=0), None, FactorResponse(code_at(epoch)))
    assert (verdict.ok, verdict.reason) == (False, "replay")


def test_verify_rejects_wrong_code(method: TotpMethod, ctx: Context) -> None:
    good = code_at(NOW)
    wrong = f"{(int(good) + 1) % 10**6:06d}"
    verdict = method.verify(ctx, make_cred(), None, FactorResponse(wrong))
    assert (verdict.ok, verdict.reason) == (False, "wrong_code")


@pytest.mark.parametrize("code", ["", "abcdef", "٢٨٧٠٨٢", "２８７０８２", "1234567"])
def test_verify_rejects_malformed_code_without_raising(
    method: TotpMethod, ctx: Context, code: str
) -> None:
    """OTP-02: ``verify`` does not rely on ``normalise_response`` having run first."""
    verdict = method.verify(ctx, make_cred(), None, FactorResponse(code))
    assert (verdict.ok, verdict.reason) == (False, "wrong_code")


def test_verify_rejects_credential_without_secret(method: TotpMethod, ctx: Context) -> None:
    verdict = method.verify(ctx, make_cred(None), None, FactorResponse(code_at(NOW)))
    assert (verdict.ok, verdict.reason) == (False, "no_secret")


@pytest.mark.parametrize(
    ("unix_time", "code", "step"),
    [(59, "46119246", 1), (20_000_000_000, "77737706", 0x27BC86AA)],
)
def test_verify_uses_credential_params_for_rfc6238_sha256_vector(
    method: TotpMethod, tmp_path: Path, unix_time: int, code: str, step: int
) -> None:
    """OTP-01: an imported SHA256/8-digit credential accepts the RFC 6238 App. B value."""
    ctx = make_ctx(tmp_path, at=datetime.fromtimestamp(unix_time, UTC))
    params = params_to_json(otp.OtpParams(algorithm="SHA256", digits=8))
    verdict = method.verify(ctx, make_cred(SEED_256, params=params), None, FactorResponse(code))
    assert (verdict.ok, verdict.counter) == (True, Counter(step))


def test_verify_rejects_six_digit_code_for_eight_digit_credential(
    method: TotpMethod, ctx: Context
) -> None:
    """OTP-01: the code length must match the credential's digits."""
    params = params_to_json(otp.OtpParams(digits=8))
    eight = otp.totp(SEED, NOW.timestamp(), otp.OtpParams(digits=8))
    assert re.fullmatch(r"\d{8}", eight)
    cred = make_cred(params=params)
    assert method.verify(ctx, cred, None, FactorResponse(eight)).ok is True
    assert method.verify(ctx, cred, None, FactorResponse(eight[-6:])).reason == "wrong_code"
