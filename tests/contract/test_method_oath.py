"""The method contract for hardware OATH tokens (an HOTP key fob and a TOTP card)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto import otp
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import FactorResponse, Method, TokenFile
from portvakt.methods.oath import OathMethod
from portvakt.methods.oath.params import from_json
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

NOW = datetime(2026, 12, 5, 12, 0, 15, tzinfo=UTC)
SEED = "3132333435363738393031323334353637383930"


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return OathMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path), _Clock(), box, Door.WEB)


def code(cred: CredentialView, at: int) -> str:
    assert cred.secret is not None
    return otp.hotp(cred.secret, at, from_json(cred.params).otp_params)


class _Token(MethodContract):
    kind = "oath"
    row = ""

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        parsed = method.parse_tokens(TokenFile(data=self.row.encode(), fmt="csv"))
        assert not parsed.rejected
        (token,) = parsed.tokens
        cred = CredentialView(
            0,
            7,
            "oath",
            token.serial,
            CredentialState.PENDING,
            False,
            dict(token.params),
            NOW,
            None,
            counter=token.counter,
            secret=token.secret,
        )
        return cred, FactorResponse()

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, _first = self.pending(method, ctx)
        return replace(cred, id=1, state=CredentialState.ACTIVE, is_default=True)

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        right = self.right(method, ctx, cred, challenge).code
        return FactorResponse(code=f"{(int(right) + 500_000) % 1_000_000:06d}")


class TestHotpTokenContract(_Token):
    row = f"fob-1,{SEED},hotp,6,0\n"

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code=code(cred, 0 if cred.counter is None else cred.counter + 1))

    def claim(self, method: Method, ctx: Context, cred: CredentialView) -> list[str]:
        return [code(cred, 5), code(cred, 6)]


class TestTotpTokenContract(_Token):
    row = f"card-1,{SEED},totp,6,30\n"

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code=code(cred, otp.time_step(NOW.timestamp())))

    def claim(self, method: Method, ctx: Context, cred: CredentialView) -> list[str]:
        now = otp.time_step(NOW.timestamp())
        return [code(cred, now - 1), code(cred, now)]
