"""The method contract for the suite's entry-point method (tests/plugins/portvakt_testmethod),
so that a method written outside Portvakt is held to the same rules."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import FactorResponse, Method
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

# Imported from its folder without leaving it on sys.path: otherwise every runtime the suite
# builds later would find its entry point and offer the kind.
PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
try:
    from portvakt_testmethod.method import LetterCodeMethod, code_at
finally:
    sys.path.remove(PLUGINS)

NOW = datetime(2026, 12, 5, 12, 0, 15, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    method = LetterCodeMethod()
    method.configure(LetterCodeMethod.settings_model() if LetterCodeMethod.settings_model else None)
    return method


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(
        Settings(data_dir=tmp_path), _Clock(), KeyRing({"k1": bytes(32)}, "k1"), Door.WEB
    )


class TestLetterCodeContract(MethodContract):
    kind = "lettercode"

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        step = method.begin_enrollment(ctx, self.user())
        cred = CredentialView(
            1,
            7,
            self.kind,
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
        cred, _ = self.pending(method, ctx)
        return CredentialView(
            1,
            7,
            self.kind,
            "Token",
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
        return FactorResponse(code=code_at(cred.secret, int(NOW.timestamp()) // 30))

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        right = self.right(method, ctx, cred, challenge).code
        return FactorResponse(code="A" * 8 if right != "A" * 8 else "B" * 8)
