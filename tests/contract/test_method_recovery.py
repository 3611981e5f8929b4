"""The method contract for recovery codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import FactorResponse, Method
from portvakt.methods.recovery import RecoveryMethod
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

NOW = datetime(2026, 12, 5, 12, 0, 15, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return RecoveryMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path), _Clock(), box, Door.WEB)


def codes_of(cred: CredentialView) -> list[str]:
    """The plain codes a pending set carries (sealed at rest, shown once)."""
    assert cred.secret is not None
    return cred.secret.decode().split("\n")


class TestRecoveryContract(MethodContract):
    kind = "recovery"
    codes: list[str]

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        step = method.begin_enrollment(ctx, self.user())
        cred = CredentialView(
            1,
            7,
            "recovery",
            "",
            CredentialState.PENDING,
            False,
            dict(step.params),
            NOW,
            None,
            secret=step.secret,
        )
        self.codes = codes_of(cred)
        return cred, FactorResponse(code=self.codes[3])

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, _first = self.pending(method, ctx)
        return replace(cred, state=CredentialState.ACTIVE, secret=None)  # forgotten once active

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code=self.codes[0])

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code="a" * 10 if self.codes[0] != "a" * 10 else "b" * 10)

    def secrets(self, cred: CredentialView) -> list[str]:
        return list(getattr(self, "codes", []))
