"""The method contract for SMS codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
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
from portvakt.methods.base import ChallengeRequest, FactorResponse, Method
from portvakt.methods.sms import SmsMethod
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

NOW = datetime(2026, 12, 5, 12, 0, 15, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return SmsMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path), _Clock(), box, Door.WEB, ip="192.0.2.1")


def sent_code(text: str) -> str:
    """The code in a text message (its WebOTP line, or the first word)."""
    return text.rsplit("#", 1)[-1] if "#" in text else text.split()[0]


class TestSmsContract(MethodContract):
    kind = "sms"
    codes: list[str]

    def user(self) -> UserRef:
        return UserRef(id=7, username="alice", display_name="Alice", phone="+4791234567")

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        step = method.begin_enrollment(ctx, self.user())
        cred = CredentialView(
            1, 7, "sms", "", CredentialState.PENDING, False, dict(step.params), NOW, None
        )
        cred = replace(cred, secret=step.secret)
        code = sent_code(str(step.deliveries[0].payload["text"]))
        self.codes = [code]
        return cred, FactorResponse(code=code)

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, _first = self.pending(method, ctx)
        return replace(
            cred, state=CredentialState.ACTIVE, secret=None, params={"phone": "+4791234567"}
        )

    def challenge(self, method: Method, ctx: Context, cred: CredentialView) -> ChallengeView:
        request = ChallengeRequest("tx1", self.user(), (cred,), Purpose.SIGNIN)
        issued = method.challenge(ctx, request)
        self.codes = [*getattr(self, "codes", []), sent_code(issued.deliveries[0].payload["text"])]
        return ChallengeView(
            "tx1",
            "sms",
            7,
            Purpose.SIGNIN,
            ChallengeState.PENDING,
            None,
            issued.data,
            NOW,
            NOW + timedelta(seconds=issued.seconds),
        )

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code=self.codes[-1])

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code="000000" if self.codes[-1] != "000000" else "111111")

    def secrets(self, cred: CredentialView) -> list[str]:
        return list(getattr(self, "codes", []))
