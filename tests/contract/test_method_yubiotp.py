"""The method contract for YubiKey OTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portvakt.context import Context
from portvakt.crypto.secretbox import KeyRing
from portvakt.domain import ChallengeView, CredentialState, CredentialView, Door
from portvakt.methods.base import FactorResponse, Method, TokenFile
from portvakt.methods.yubiotp import YubicoOtpMethod
from portvakt.methods.yubiotp import otp as yotp
from portvakt.settings import Settings
from tests.contract.methods import MethodContract

NOW = datetime(2026, 12, 5, 12, 0, 15, tzinfo=UTC)
KEY = "ecde18dbe76fbd0c33330f1c354871db"
PRIVATE = "8792ebfe26cc"
LOG = f"Yubico OTP,05.12.26 12:00,1,vvccccfiluij,{PRIVATE},{KEY},,,0,0,0,0,0,0,0,0\n"


class _Clock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def method() -> Method:
    return YubicoOtpMethod()


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    box = KeyRing({"k1": bytes(32)}, "k1")
    return Context(Settings(data_dir=tmp_path), _Clock(), box, Door.WEB)


def touch(cred: CredentialView, usage: int, session: int) -> str:
    token = yotp.encrypt(bytes.fromhex(KEY), bytes.fromhex(PRIVATE), usage, session)
    return str(cred.params["serial"]) + token


class TestYubicoOtpContract(MethodContract):
    kind = "yubiotp"

    def pending(self, method: Method, ctx: Context) -> tuple[CredentialView, FactorResponse]:
        parsed = method.parse_tokens(TokenFile(data=LOG.encode(), fmt="yubico-csv"))
        assert not parsed.rejected
        (token,) = parsed.tokens
        cred = CredentialView(
            0,
            7,
            "yubiotp",
            token.serial,
            CredentialState.PENDING,
            False,
            dict(token.params),
            NOW,
            None,
            secret=token.secret,
        )
        return cred, FactorResponse()

    def enrolled(self, method: Method, ctx: Context) -> CredentialView:
        cred, _first = self.pending(method, ctx)
        return replace(cred, id=1, state=CredentialState.ACTIVE, is_default=True)

    def right(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        return FactorResponse(code=touch(cred, 3, 1))

    def wrong(
        self, method: Method, ctx: Context, cred: CredentialView, challenge: ChallengeView | None
    ) -> FactorResponse:
        token = yotp.encrypt(bytes(16), bytes.fromhex(PRIVATE), 3, 1)  # another AES key
        return FactorResponse(code=str(cred.params["serial"]) + token)

    def claim(self, method: Method, ctx: Context, cred: CredentialView) -> list[str]:
        return [touch(cred, 1, 0)]

    def secrets(self, cred: CredentialView) -> list[str]:
        return [*super().secrets(cred), KEY, PRIVATE]
