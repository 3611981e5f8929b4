"""The method contract for the temporary access pass. It is issued by an operator, not added
by people: ``begin_enrollment`` issues one with the kind's defaults (one use), which is all the
mixin needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import FactorResponse, Method
from portvakt.methods.tap import TapMethod
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

NOW = datetime(2026, 12, 5, 12, 0, 15, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return TapMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path), _Clock(), box, Door.WEB)


class TestTapContract(MethodContract):
    kind = "tap"
    value: str

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        step = method.begin_enrollment(ctx, self.user())
        assert step.secret is not None
        self.value = step.secret.decode()
        cred = CredentialView(
            1,
            7,
            "tap",
            "",
            CredentialState.PENDING,
            False,
            dict(step.params),
            NOW,
            None,
            secret=step.secret,
        )
        return cred, FactorResponse(code=self._plain(method))

    def _plain(self, method: Method) -> str:
        plain = method.normalise_response(self.value)
        assert plain is not None
        return plain

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, _first = self.pending(method, ctx)
        return replace(cred, state=CredentialState.ACTIVE, secret=None)  # never stored

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code=self._plain(method))

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        plain = self._plain(method)
        return FactorResponse(code="2" * 16 if plain != "2" * 16 else "3" * 16)

    def secrets(self, cred: CredentialView) -> list[str]:
        value = getattr(self, "value", "")
        return [value, value.replace("-", "")] if value else []
