"""The push method's pure parts: issuing a challenge (fatigue, number, data), checking an app's
signed answer, and the device protocol helpers (docs/protocol.md, PUSH-01..07)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey

from portvakt import protocol
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
from portvakt.errors import Invalid, Throttled
from portvakt.methods.base import ChallengeRequest, FactorResponse
from portvakt.methods.push import PushMethod, device, fatigue
from portvakt.methods.push.device import number_for
from portvakt.methods.push.settings import DEFAULTS, PushSettings
from portvakt.settings import Settings

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
USER = UserRef(id=7, username="alice", display_name="Alice")
SERVER = "https://mfa.example.org"


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


def make_ctx(tmp_path: Path, *, at: datetime = NOW, **settings: Any) -> Context:
    values = {"data_dir": tmp_path, "public_url": SERVER, **settings}
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(settings=Settings(**values), clock=FixedClock(at), box=box, door=Door.WEB)


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return make_ctx(tmp_path)


@pytest.fixture
def key() -> ECKey:
    return protocol.generate_key()


def make_device(key: ECKey, *, state: CredentialState = CredentialState.ACTIVE) -> CredentialView:
    params = {
        "device_id": "5.abcdef",
        "server": SERVER,
        "jwk": protocol.public_jwk(key),
        "kid": protocol.fingerprint(key),
        "device": {"name": "Phone"},
    }
    return CredentialView(5, USER.id, "push", "Phone", state, True, params, NOW, None)


def configured(**conf: Any) -> PushMethod:
    """A push method as the registry hands it out, with ``[methods.push]`` settings."""
    method = PushMethod()
    method.configure(PushSettings(**conf))
    return method


def issue(
    ctx: Context,
    *,
    purpose: Purpose = Purpose.SIGNIN,
    recent: tuple[ChallengeView, ...] = (),
    method: PushMethod | None = None,
) -> tuple[str, Any]:
    method = method or PushMethod()
    request = ChallengeRequest(
        id="tx-0123456789abcdef",
        user=USER,
        credentials=(make_device(protocol.generate_key()),),
        purpose=purpose,
        recent=recent,
        place={"ip": "192.0.2.1", "browser": "Firefox 1"},
    )
    return request.id, method.challenge(ctx, request)


def stored(tx: str, issued: Any, *, purpose: Purpose = Purpose.SIGNIN) -> ChallengeView:
    return ChallengeView(
        tx,
        "push",
        USER.id,
        purpose,
        ChallengeState.PENDING,
        None,
        issued.data,
        NOW,
        NOW + timedelta(seconds=issued.seconds),
    )


def answer(key: ECKey, tx_id: str, data: Any, **claims: Any) -> FactorResponse:
    body = {"iss": "5.abcdef", "aud": SERVER, "tx": tx_id, "nonce": data["nonce"], **claims}
    token = protocol.sign(key, protocol.MessageType.ANSWER, body, lifetime=60, now=NOW.timestamp())
    return FactorResponse(payload={"token": token})


def past(
    state: ChallengeState,
    minutes: int,
    *,
    reason: str | None = None,
    purpose: Purpose = Purpose.SIGNIN,
) -> ChallengeView:
    at = NOW - timedelta(minutes=minutes)
    return ChallengeView(
        "old",
        "push",
        USER.id,
        purpose,
        state,
        None,
        {},
        at,
        at + timedelta(minutes=1),
        answered_at=at,
        reason=reason,
    )


# -- issuing -----------------------------------------------------------------------------------


def test_a_challenge_keeps_only_a_digest_of_the_number(ctx: Context) -> None:
    tx, issued = issue(ctx)
    number = number_for(ctx, tx, 2)
    assert issued.prompt == {"number": number}
    assert (
        number not in [str(value) for value in issued.data.values()] and not issued.data["choices"]
    )
    assert issued.data["number_digest"] == protocol.number_digest(number, issued.data["nonce"])
    assert issued.data["context"]["account"] == "alice" and issued.supersede is True
    assert issued.seconds == DEFAULTS.challenge_seconds == 60
    assert issued.deliveries[0].to == f"user:{USER.id}"


def test_pick_mode_offers_three_choices_with_the_number(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    tx, issued = issue(ctx, method=configured(match_mode="pick"))
    assert number_for(ctx, tx, 2) in issued.data["choices"] and len(issued.data["choices"]) == 3
    claims = PushMethod().challenge_claims(ctx, stored(tx, issued), server=SERVER, device_id="d")
    assert claims["match"]["choices"] == issued.data["choices"]
    assert "number" not in claims and claims["aud"] == "d"


def test_an_activation_test_is_typed_lives_longer_and_supersedes_nothing(ctx: Context) -> None:
    _tx, issued = issue(
        ctx, purpose=Purpose.ENROLLMENT, recent=(past(ChallengeState.DENIED, 1, reason="not_me"),)
    )
    assert issued.data["match_mode"] == "type" and issued.supersede is False
    assert issued.seconds == DEFAULTS.activation_minutes * 60 == 600


def test_nobody_to_ask_is_invalid(ctx: Context) -> None:
    request = ChallengeRequest("tx-1", USER, (), Purpose.SIGNIN)
    with pytest.raises(Invalid):
        PushMethod().challenge(ctx, request)


def test_the_prompt_shows_the_same_number_again(ctx: Context) -> None:
    tx, issued = issue(ctx)
    assert PushMethod().prompt(ctx, stored(tx, issued)) == issued.prompt


# -- fatigue (PUSH-03, PUSH-04) ------------------------------------------------------------------


def test_not_me_pauses_pushes(ctx: Context) -> None:
    recent = (past(ChallengeState.DENIED, 5, reason="not_me"),)
    refused = fatigue.refusal(DEFAULTS, recent, NOW)
    assert isinstance(refused, Throttled) and refused.code == "push_paused"
    assert refused.retry_after == 15 * 60
    assert (
        fatigue.refusal(DEFAULTS, (past(ChallengeState.DENIED, 25, reason="not_me"),), NOW) is None
    )


def test_denials_cool_down_and_unanswered_requests_rate_limit(ctx: Context) -> None:
    denied = tuple(past(ChallengeState.DENIED, 1) for _ in range(2))
    assert getattr(fatigue.refusal(DEFAULTS, denied, NOW), "code", None) == "push_cooldown"
    unanswered = tuple(past(ChallengeState.PENDING, 1) for _ in range(3))
    assert getattr(fatigue.refusal(DEFAULTS, unanswered, NOW), "code", None) == "push_rate_limited"
    with pytest.raises(Throttled):
        issue(ctx, recent=unanswered)


def test_a_success_or_the_window_resets_the_count(ctx: Context) -> None:
    reset = (past(ChallengeState.USED, 1), *(past(ChallengeState.PENDING, 2) for _ in range(3)))
    assert fatigue.refusal(DEFAULTS, reset, NOW) is None
    old = tuple(past(ChallengeState.PENDING, 6) for _ in range(3))
    assert fatigue.refusal(DEFAULTS, old, NOW) is None
    activations = tuple(
        past(ChallengeState.PENDING, 1, purpose=Purpose.ENROLLMENT) for _ in range(3)
    )
    assert fatigue.refusal(DEFAULTS, activations, NOW) is None


# -- answers (PUSH-02) ---------------------------------------------------------------------------


def test_the_right_number_approves(ctx: Context, key: ECKey) -> None:
    tx, issued = issue(ctx)
    response = answer(key, tx, issued.data, consent="approve", number=number_for(ctx, tx, 2))
    verdict = PushMethod().verify(ctx, make_device(key), stored(tx, issued), response)
    assert verdict.ok and verdict.challenge_state is ChallengeState.APPROVED


def test_a_wrong_number_fails_and_counts_except_in_an_activation(ctx: Context, key: ECKey) -> None:
    tx, issued = issue(ctx)
    wrong = "00" if number_for(ctx, tx, 2) != "00" else "01"
    response = answer(key, tx, issued.data, consent="approve", number=wrong)
    verdict = PushMethod().verify(ctx, make_device(key), stored(tx, issued), response)
    assert (verdict.ok, verdict.reason, verdict.counts) == (False, "wrong_number", True)
    activation = replace(stored(tx, issued), purpose=Purpose.ENROLLMENT)
    assert PushMethod().verify(ctx, make_device(key), activation, response).counts is False


@pytest.mark.parametrize(
    ("reason", "alert", "named"),
    [
        ("not_me", True, "not_me"),
        ("cancelled", False, "cancelled"),
        ("odd", False, "cancelled"),
        (["x"], False, "cancelled"),
    ],
)
def test_a_denial_is_not_a_wrong_answer(
    ctx: Context, key: ECKey, reason: Any, alert: bool, named: str
) -> None:
    tx, issued = issue(ctx)
    response = answer(key, tx, issued.data, consent="deny", reason=reason)
    verdict = PushMethod().verify(ctx, make_device(key), stored(tx, issued), response)
    assert verdict.challenge_state is ChallengeState.DENIED
    assert (verdict.counts, verdict.alert, verdict.reason) == (False, alert, named)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"consent": "approve", "tx": "another"}, "wrong_challenge"),
        ({"consent": "approve", "nonce": "forged"}, "wrong_challenge"),
        ({"consent": "approve", "nonce": 7}, "wrong_challenge"),
        ({"consent": "maybe"}, "malformed"),
        ({"consent": "approve"}, "malformed"),
        ({"consent": "approve", "number": ""}, "malformed"),
    ],
)
def test_a_malformed_answer_fails(
    ctx: Context, key: ECKey, claims: dict[str, Any], reason: str
) -> None:
    tx, issued = issue(ctx)
    response = answer(key, tx, issued.data, **claims)
    verdict = PushMethod().verify(ctx, make_device(key), stored(tx, issued), response)
    assert (verdict.ok, verdict.reason) == (False, reason)


def test_user_verification_when_required(tmp_path: Path, key: ECKey) -> None:
    ctx = make_ctx(tmp_path)
    method = configured(require_uv=True)
    tx, issued = issue(ctx, method=method)
    number = number_for(ctx, tx, 2)
    without = answer(key, tx, issued.data, consent="approve", number=number)
    assert method.verify(ctx, make_device(key), stored(tx, issued), without).reason == "uv_required"
    with_uv = answer(key, tx, issued.data, consent="approve", number=number, uv=True)
    assert method.verify(ctx, make_device(key), stored(tx, issued), with_uv).ok


def test_a_message_that_does_not_verify_changes_nothing(ctx: Context, key: ECKey) -> None:
    tx, issued = issue(ctx)
    forged = answer(protocol.generate_key(), tx, issued.data, consent="approve", number="00")
    verdict = PushMethod().verify(ctx, make_device(key), stored(tx, issued), forged)
    assert verdict.challenge_state is ChallengeState.PENDING and verdict.counts is False
    missing = PushMethod().verify(ctx, make_device(key), stored(tx, issued), FactorResponse())
    assert missing.reason == "malformed"
    assert PushMethod().verify(ctx, make_device(key), None, forged).reason == "malformed"


def test_nothing_is_typed_and_enrolment_finishes_out_of_band(ctx: Context, key: ECKey) -> None:
    method = PushMethod()
    assert method.normalise_response("12") is None
    assert (
        method.finish_enrollment(ctx, make_device(key), FactorResponse(code="12")).reason
        == "out_of_band"
    )
    step = method.begin_enrollment(ctx, USER)
    assert step.secret is not None and step.secret.decode() not in repr(step)


# -- the device protocol -----------------------------------------------------------------------


def test_claimed_reads_the_issuer_without_trusting_it(key: ECKey) -> None:
    token = protocol.sign(
        key, protocol.MessageType.AUTH, {"iss": "5.abcdef", "aud": SERVER}, lifetime=60
    )
    assert device.claimed(token) == (5, "5.abcdef")
    with pytest.raises(device.Refused, match="malformed"):
        device.claimed("not a token")
    odd = protocol.sign(key, protocol.MessageType.AUTH, {"iss": "x.y", "aud": SERVER}, lifetime=60)
    with pytest.raises(device.Refused, match="unauthorized"):
        device.claimed(odd)


def test_is_device_of_needs_a_registered_key(key: ECKey) -> None:
    cred = make_device(key)
    assert device.is_device_of(cred, "5.abcdef") and not device.is_device_of(cred, "5.other")
    assert not device.is_device_of(replace(cred, params={}), "5.abcdef")


def test_nonces_are_fresh_and_ours(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    nonce = device.new_nonce(ctx)
    assert device.check_nonce(ctx, nonce)
    assert not device.check_nonce(make_ctx(tmp_path, at=NOW + timedelta(seconds=61)), nonce)
    stamp, rand, mac = nonce.split(".")
    assert not device.check_nonce(ctx, f"{stamp}.{rand}.{'0' * len(mac)}")
    assert not device.check_nonce(ctx, f"x{stamp}.{rand}.{mac}")
    assert not device.check_nonce(ctx, f"{stamp}..{mac}")
    assert not device.check_nonce(ctx, nonce + "x" * 120)


def test_activation_display_moves_from_qr_to_number_to_active(ctx: Context, key: ECKey) -> None:
    pending = CredentialView(
        5, USER.id, "push", "", CredentialState.PENDING, False, {}, NOW, None, secret=b"s3cret"
    )
    shown = device.activation_display(ctx, USER, pending, None, "fp", 10)
    assert shown["state"] == "waiting_for_app"
    assert protocol.Activation.parse(shown["uri"]).code == "5.s3cret"
    assert device.activation_display(ctx, USER, pending, None, "", 10)["state"] == "expired"
    registered = replace(pending, params=make_device(key).params, secret=None)
    tx, issued = issue(ctx, purpose=Purpose.ENROLLMENT)
    test = stored(tx, issued, purpose=Purpose.ENROLLMENT)
    waiting = device.activation_display(ctx, USER, registered, test, "fp", 10)
    assert (waiting["state"], waiting["number"]) == ("waiting_for_approval", number_for(ctx, tx, 2))
    answered = replace(test, state=ChallengeState.FAILED)
    assert (
        device.activation_display(ctx, USER, registered, answered, "fp", 10)["state"] == "expired"
    )
    active = replace(registered, state=CredentialState.ACTIVE)
    assert device.activation_display(ctx, USER, active, test, "fp", 10)["state"] == "active"
    late = make_ctx(ctx.settings.data_dir, at=NOW + timedelta(minutes=11))
    assert device.activation_display(late, USER, pending, None, "fp", 10)["state"] == "expired"


def test_activation_codes_and_their_use(ctx: Context, key: ECKey) -> None:
    assert device.activation_code("5.abc") == (5, "abc")
    with pytest.raises(device.Refused, match="malformed"):
        device.activation_code(5)
    with pytest.raises(device.Refused, match="activation_invalid"):
        device.activation_code("nope")
    pending = CredentialView(
        5, USER.id, "push", "", CredentialState.PENDING, False, {}, NOW, None, secret=b"abc"
    )
    assert device.activation_usable(ctx, pending, "abc", 10)
    assert not device.activation_usable(ctx, pending, "abd", 10)
    assert not device.activation_usable(ctx, None, "abc", 10)
    assert not device.activation_usable(
        ctx, replace(pending, state=CredentialState.ACTIVE), "abc", 10
    )
    assert not device.activation_usable(ctx, replace(pending, params={"jwk": {}}), "abc", 10)


def test_registration_claims_and_params(ctx: Context, key: ECKey) -> None:
    claims = {
        "iss": protocol.fingerprint(key),
        "aud": SERVER,
        "jwk": protocol.public_jwk(key),
        "code": "5.abc",
        "device": {"name": "My\x00 phone", "platform": 7, "other": "x"},
        "capabilities": ["a", 7, "b" * 40, *["c"] * 12],
    }
    token = protocol.sign(
        key, protocol.MessageType.REGISTER, claims, lifetime=60, now=NOW.timestamp()
    )
    verified = device.registration_claims(ctx, token)
    params = device.registered_params(verified, 5)
    assert params["device_id"].startswith("5.") and params["server"] == SERVER
    assert params["device"] == {"name": "My phone"} or "\x00" not in params["device"].get(
        "name", ""
    )
    assert params["capabilities"][0] == "a" and len(params["capabilities"]) == 10
    with pytest.raises(device.Refused):
        device.registration_claims(ctx, token + "x")
    assert device.device_info({"device": "nope"}) == {}


def test_the_enrolment_page_shows_the_device_protocol_display(ctx: Context) -> None:
    pending = CredentialView(
        5, USER.id, "push", "", CredentialState.PENDING, False, {}, NOW, None, secret=b"abc"
    )
    shown = PushMethod().enrollment_display(ctx, USER, pending, app_key="fp")
    assert shown["state"] == "waiting_for_app"


def test_a_typed_match_sends_no_choices(ctx: Context) -> None:
    tx, issued = issue(ctx)
    claims = PushMethod().challenge_claims(ctx, stored(tx, issued), server=SERVER, device_id="d")
    assert claims["match"] == {"mode": "type", "digits": 2}
