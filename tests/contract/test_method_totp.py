"""The method contract for TOTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto import otp
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import FactorResponse, Method
from portvakt.methods.totp import TotpMethod
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

NOW = datetime(2026, 12, 5, 12, 0, 15, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return TotpMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path), _Clock(), box, Door.WEB)


class TestTotpContract(MethodContract):
    kind = "totp"

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        step = method.begin_enrollment(ctx, self.user())
        cred = CredentialView(
            1,
            7,
            "totp",
            "",
            CredentialState.PENDING,
            False,
            dict(step.params),
            NOW,
            None,
            secret=step.secret,
        )
        return cred, self.right(method, ctx, cred, None)

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, _first = self.pending(method, ctx)
        return CredentialView(
            1,
            7,
            "totp",
            "Phone",
            CredentialState.ACTIVE,
            True,
            cred.params,
            NOW,
            None,
            secret=cred.secret,
        )

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        assert cred.secret is not None
        return FactorResponse(code=otp.totp(cred.secret, ctx.now().timestamp()))

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        right = self.right(method, ctx, cred, challenge).code
        return FactorResponse(code=f"{(int(right) + 500_000) % 1_000_000:06d}")

    def secrets(self, cred: CredentialView) -> list[str]:
        secret = cred.secret or b""
        return [*super().secrets(cred), otp.b32(secret)] if secret else []
