"""TOTP (RFC 6238): codes from any authenticator app or an imported hardware token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from portvakt.context import Context
from portvakt.crypto import otp, random
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
from portvakt.methods.totp.params import params_from_json, params_to_json


def group_secret(b32: str, size: int = 4) -> str:
    return " ".join(b32[i : i + size] for i in range(0, len(b32), size))


class TotpSettings(BaseModel):
    """``[methods.totp]`` in the TOML file, ``PORTVAKT_METHODS__TOTP__<NAME>`` in the
    environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(
        1, ge=0, le=2, description="Time steps accepted either side of now (clock drift)"
    )


DEFAULTS = TotpSettings()


class TotpMethod(MethodDefaults):
    kind: ClassVar[str] = "totp"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CODE,
        code=CodeShape(pattern="[0-9]{6,8}", min_length=6, max_length=32),
        doors=frozenset({"web", "api", "radius", "oidc"}),
        strength=Strength.STRONG,
        amr=("otp",),
    )
    settings_model: ClassVar[type[BaseModel] | None] = TotpSettings

    @property
    def conf(self) -> TotpSettings:
        return self.settings if isinstance(self.settings, TotpSettings) else DEFAULTS

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        # SHA1/6/30: the only parameter set every app honours (Key Uri Format wiki)
        return EnrollmentStep(secret=random.otp_seed(), params=params_to_json(otp.OtpParams()))

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
            raise ValueError("pending TOTP credential without a secret")
        uri = otp.provisioning_uri(
            cred.secret,
            issuer=ctx.settings.issuer,
            account=user.username,
            params=params_from_json(cred.params),
        )
        return {"uri": uri, "secret_text": group_secret(otp.b32(cred.secret))}

    def normalise_response(self, raw: str) -> str | None:
        cleaned = raw.replace(" ", "").replace("-", "").strip()
        if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) not in otp.ALLOWED_DIGITS:
            return None
        return cleaned

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        """RFC 6238 §5.2: accept T-w..T+w, and never a step at or before the last accepted one."""
        if cred.secret is None:
            return Verdict(ok=False, reason="no_secret")
        params = params_from_json(cred.params)
        step = otp.match_totp(
            cred.secret,
            resp.code,
            ctx.now().timestamp(),
            params=params,
            window=self.conf.window,
        )
        if step is None:
            return Verdict(ok=False, reason="wrong_code")
        if cred.counter is not None and step <= cred.counter:
            return Verdict(ok=False, reason="replay")
        return Verdict(ok=True, counter=Counter(step))
