"""Letter codes: HMAC-SHA256(secret, time step) as eight letters A–Z, one step either side."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from portvakt.context import Context
from portvakt.domain import CredentialView, UserRef
from portvakt.methods.base import (
    NO_ANSWERS,
    Answer,
    Capabilities,
    ChallengeView,
    CodeShape,
    Counter,
    EnrollmentStep,
    FactorResponse,
    MethodDefaults,
    Strength,
    Verdict,
)

LETTERS = string.ascii_uppercase
LENGTH = 8


class LetterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    period: int = Field(30, ge=10, le=120)


def code_at(secret: bytes, step: int) -> str:
    digest = hmac.new(secret, step.to_bytes(8, "big"), hashlib.sha256).digest()
    return "".join(LETTERS[byte % len(LETTERS)] for byte in digest[:LENGTH])


class LetterCodeMethod(MethodDefaults):
    kind: ClassVar[str] = "lettercode"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CODE,
        code=CodeShape(pattern="[A-Z]{8}", min_length=8, max_length=16, numeric=False),
        doors=frozenset({"web", "api"}),
        strength=Strength.STRONG,
        amr=("otp",),
    )
    settings_model: ClassVar[type[BaseModel] | None] = LetterSettings

    @property
    def period(self) -> int:
        return self.settings.period if isinstance(self.settings, LetterSettings) else 30

    def step(self, ctx: Context) -> int:
        return int(ctx.now().timestamp()) // self.period

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        return EnrollmentStep(secret=secrets.token_bytes(20), params={"period": self.period})

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        if cred.secret is None:
            raise ValueError("pending letter-code credential without a secret")
        return {"secret_text": cred.secret.hex(), "period": cred.params.get("period", 30)}

    def normalise_response(self, raw: str) -> str | None:
        cleaned = raw.replace(" ", "").replace("-", "").strip().upper()
        if len(cleaned) != LENGTH or not all(c in LETTERS for c in cleaned):
            return None
        return cleaned

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        if cred.secret is None:
            return Verdict(ok=False, reason="no_secret")
        now = self.step(ctx)
        for step in (now, now - 1, now + 1):
            if hmac.compare_digest(code_at(cred.secret, step), resp.code):
                if cred.counter is not None and step <= cred.counter:
                    return Verdict(ok=False, reason="replay")
                return Verdict(ok=True, counter=Counter(step))
        return Verdict(ok=False, reason="wrong_code")
