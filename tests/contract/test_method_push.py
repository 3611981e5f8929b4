"""The method contract for push: a device registered with its own key answers challenges."""

from __future__ import annotations

from collections.abc import Mapping
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
)
from portvakt.methods.base import ChallengeRequest, FactorResponse, Method
from portvakt.methods.push import PushMethod, device
from portvakt.methods.push.device import number_for
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SERVER = "https://mfa.example.org"
KEY: ECKey = protocol.generate_key()


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return PushMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path, public_url=SERVER), _Clock(), box, Door.WEB)


def _claims() -> dict[str, object]:
    claims = {"iss": protocol.fingerprint(KEY), "aud": SERVER, "jwk": protocol.public_jwk(KEY)}
    return {**claims, "device": {"name": "Phone"}, "capabilities": ["number_type"]}


class TestPushContract(MethodContract):
    kind = "push"

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        """Push's enrolment finishes out of band: the app registers its key and approves a
        test challenge; ``finish_enrollment`` itself always says so. The round trip here is
        the activation test's answer, checked by ``verify``."""
        step = method.begin_enrollment(ctx, self.user())
        params = device.registered_params(_claims(), 1)
        cred = CredentialView(
            1, 7, "push", "", CredentialState.PENDING, False, params, NOW, None, secret=step.secret
        )
        return cred, FactorResponse()

    def test_enrolment_round_trip(self, method: Method, ctx: Context) -> None:
        cred, _ = self.pending(method, ctx)
        assert method.finish_enrollment(ctx, cred, FactorResponse()).reason == "out_of_band"
        request = ChallengeRequest("tx-activation-0001", self.user(), (cred,), Purpose.ENROLLMENT)
        issued = method.challenge(ctx, request)
        test = self._stored(request.id, issued.data, issued.seconds, Purpose.ENROLLMENT, cred.id)
        assert method.verify(ctx, cred, test, self.right(method, ctx, cred, test)).ok

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, _ = self.pending(method, ctx)
        return CredentialView(
            1, 7, "push", "Phone", CredentialState.ACTIVE, True, cred.params, NOW, None
        )

    @staticmethod
    def _stored(
        tx: str,
        data: Mapping[str, Any],
        seconds: int,
        purpose: Purpose,
        credential_id: int | None = None,
    ) -> ChallengeView:
        return ChallengeView(
            tx,
            "push",
            7,
            purpose,
            ChallengeState.PENDING,
            credential_id,
            dict(data),
            NOW,
            NOW + timedelta(seconds=seconds),
        )

    def challenge(self, method: Method, ctx: Context, cred: CredentialView) -> ChallengeView | None:
        request = ChallengeRequest("tx-signin-00000001", self.user(), (cred,), Purpose.SIGNIN)
        issued = method.challenge(ctx, request)
        return self._stored(request.id, issued.data, issued.seconds, Purpose.SIGNIN)

    def _answer(
        self, ctx: Context, cred: CredentialView, challenge: ChallengeView | None, number: str
    ) -> FactorResponse:
        assert challenge is not None
        body = {
            "iss": cred.params["device_id"],
            "aud": SERVER,
            "tx": challenge.id,
            "nonce": challenge.data["nonce"],
            "consent": "approve",
            "number": number,
        }
        token = protocol.sign(
            KEY, protocol.MessageType.ANSWER, body, lifetime=60, now=NOW.timestamp()
        )
        return FactorResponse(payload={"token": token})

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        assert challenge is not None
        return self._answer(ctx, cred, challenge, number_for(ctx, challenge.id, 2))

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        assert challenge is not None
        right = number_for(ctx, challenge.id, 2)
        return self._answer(ctx, cred, challenge, "00" if right != "00" else "01")
