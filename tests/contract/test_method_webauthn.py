"""The method contract for WebAuthn: a software authenticator registers a key and answers
sign-in challenges (tests/softkey.py); the real py_webauthn checks run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import ChallengeState, ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import ChallengeRequest, FactorResponse, Method, Purpose
from portvakt.methods.webauthn import WebAuthnMethod
from portvakt.settings import Settings
from tests.contract.methods import MethodContract
from tests.softkey import SoftKey

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SERVER = "https://mfa.example.org"


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return WebAuthnMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    settings = Settings(data_dir=tmp_path, public_url=SERVER)
    return Context(settings, _Clock(), box, Door.WEB, base_url=SERVER)


class TestWebAuthnContract(MethodContract):
    kind = "webauthn"
    key: SoftKey

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        self.key = SoftKey(origin=SERVER, rp_id="mfa.example.org")
        step = method.begin_enrollment(ctx, self.user(), {"label": "Blue key"})
        cred = CredentialView(
            1,
            7,
            "webauthn",
            "Blue key",
            CredentialState.PENDING,
            False,
            dict(step.params),
            NOW,
            None,
        )
        options = method.enrollment_display(ctx, self.user(), cred)["options"]
        return cred, FactorResponse(payload=self.key.register(options))

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, first = self.pending(method, ctx)
        verdict = method.finish_enrollment(ctx, cred, first)
        assert verdict.ok and verdict.params is not None
        return CredentialView(
            1,
            7,
            "webauthn",
            "Blue key",
            CredentialState.ACTIVE,
            True,
            dict(verdict.params),
            NOW,
            None,
            counter=0,
        )

    def challenge(self, method: Method, ctx: Context, cred: CredentialView) -> ChallengeView | None:
        request = ChallengeRequest("tx-signin-00000001", self.user(), (cred,), Purpose.SIGNIN)
        issued = method.challenge(ctx, request)
        return ChallengeView(
            request.id,
            "webauthn",
            7,
            Purpose.SIGNIN,
            ChallengeState.PENDING,
            None,
            dict(issued.data),
            NOW,
            NOW + timedelta(seconds=issued.seconds),
        )

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        assert challenge is not None
        options = method.prompt(ctx, challenge)["options"]
        return FactorResponse(payload=self.key.assertion(options, count=self.key.count + 1))

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        assert challenge is not None
        options = method.prompt(ctx, challenge)["options"]
        return FactorResponse(payload=self.key.assertion(options, origin="https://evil.example"))
