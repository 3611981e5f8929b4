"""Hardware OATH tokens: HOTP look-ahead, TOTP drift followed, claims by two codes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto import otp
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import CredentialState, CredentialView, Door
from portvakt.methods.base import FactorResponse
from portvakt.methods.oath import OathMethod
from portvakt.methods.oath.method import OathSettings
from portvakt.methods.oath.params import make
from portvakt.settings import Settings

SEED = b"12345678901234567890"
NOW = datetime(2026, 12, 5, 12, 0, 10, tzinfo=UTC)
STEP = otp.time_step(NOW.timestamp())


class _Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(Settings(data_dir=tmp_path), _Clock(), KeyRing({"k": bytes(32)}, "k"), Door.WEB)


def _cred(kind: str, counter: int | None = None, drift: int = 0) -> CredentialView:
    params = {**make("t-1", kind, digits=6), "drift": drift}
    return CredentialView(
        1, 7, "oath", "t-1", CredentialState.ACTIVE, True, params, NOW, None, counter, SEED
    )


def _verify(method: OathMethod, ctx: Context, cred: CredentialView, at: int) -> object:
    return method.verify(ctx, cred, None, FactorResponse(code=otp.hotp(SEED, at)))


def test_hotp_accepts_the_look_ahead_window_only(ctx: Context) -> None:
    method = OathMethod()
    method.configure(OathSettings(look_ahead=3))
    cred = _cred("hotp", counter=9)
    assert method.verify(ctx, cred, None, FactorResponse(code=otp.hotp(SEED, 13))).ok
    assert not method.verify(ctx, cred, None, FactorResponse(code=otp.hotp(SEED, 14))).ok
    replay = method.verify(ctx, cred, None, FactorResponse(code=otp.hotp(SEED, 9)))
    assert replay.reason == "replay"


def test_totp_follows_the_token_clock_drift(ctx: Context) -> None:
    method = OathMethod()
    cred = _cred("totp")
    verdict = method.verify(ctx, cred, None, FactorResponse(code=otp.hotp(SEED, STEP + 1)))
    assert verdict.ok and verdict.params is not None and verdict.params["drift"] == 1
    # two steps ahead now fits: the window is centred on the last drift
    drifted = _cred("totp", counter=STEP + 1, drift=1)
    ahead = method.verify(ctx, drifted, None, FactorResponse(code=otp.hotp(SEED, STEP + 2)))
    assert ahead.ok and ahead.params is not None and ahead.params["drift"] == 2
    assert not method.verify(ctx, cred, None, FactorResponse(code=otp.hotp(SEED, STEP + 2))).ok


def test_a_claim_finds_two_consecutive_codes_far_away(ctx: Context) -> None:
    method = OathMethod()
    hotp = method.verify_claim(ctx, _cred("hotp"), [otp.hotp(SEED, 500), otp.hotp(SEED, 501)])
    assert hotp.ok and hotp.counter is not None and hotp.counter.value == 501
    at = STEP - 40  # a card whose clock is twenty minutes slow
    totp = method.verify_claim(ctx, _cred("totp"), [otp.hotp(SEED, at), otp.hotp(SEED, at + 1)])
    assert totp.ok and totp.params is not None and totp.params["drift"] == -39
    apart = [otp.hotp(SEED, 500), otp.hotp(SEED, 502)]
    assert not method.verify_claim(ctx, _cred("hotp"), apart).ok
    assert method.verify_claim(ctx, _cred("hotp"), [otp.hotp(SEED, 1)]).reason == (
        "two_codes_needed"
    )


def test_otp05_the_rfc_4226_walk(ctx: Context) -> None:
    """Counter 5 (254676) accepted: counters 0-5 refused, 6 (287922) accepted; counter 20 alone
    refused, 20 and 21 in sequence resynchronise."""
    method = OathMethod()
    start = _cred("hotp")
    five = method.verify(ctx, start, None, FactorResponse(code="254676"))
    assert five.ok and five.counter is not None and five.counter.value == 5
    after = _cred("hotp", counter=5)
    for at in range(6):
        assert not method.verify(ctx, after, None, FactorResponse(code=otp.hotp(SEED, at))).ok
    assert method.verify(ctx, after, None, FactorResponse(code="287922")).ok
    assert not method.verify(ctx, after, None, FactorResponse(code=otp.hotp(SEED, 20))).ok
    resync = method.verify_claim(ctx, after, [otp.hotp(SEED, 20), otp.hotp(SEED, 21)])
    assert resync.ok and resync.counter is not None and resync.counter.value == 21
