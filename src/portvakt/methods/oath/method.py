"""Hardware OATH tokens (HOTP key fobs, TOTP cards, YubiKeys in OATH mode): imported by the
operator from PSKC or CSV files, assigned to a person or claimed by them with two consecutive
codes. HOTP accepts codes a few presses ahead (``look_ahead``); TOTP follows the token's
clock drift, centring its window on the drift seen at the last accepted code."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from portvakt.context import Context
from portvakt.crypto import otp
from portvakt.domain import CredentialView, UserRef
from portvakt.errors import Invalid
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
    ParsedTokens,
    Strength,
    TokenFile,
    Verdict,
)
from portvakt.methods.oath import csvfile, pskc
from portvakt.methods.oath.params import HOTP, TokenParams, from_json


class OathSettings(BaseModel):
    """``[methods.oath]`` in the TOML file, ``PORTVAKT_METHODS__OATH__<NAME>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    look_ahead: int = Field(
        10, ge=0, le=100, description="HOTP: codes accepted ahead of the last one used"
    )
    window: int = Field(
        1, ge=0, le=4, description="TOTP: time steps accepted either side of the token's drift"
    )
    resync_window: int = Field(
        1000,
        ge=10,
        le=10000,
        description="Claim and resync: HOTP presses ahead, or TOTP steps either side, searched",
    )


DEFAULTS = OathSettings()


class OathMethod(MethodDefaults):
    kind: ClassVar[str] = "oath"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CODE,
        code=CodeShape(pattern="[0-9]{6,8}", min_length=6, max_length=32),
        doors=frozenset({"web", "api", "radius", "oidc"}),
        strength=Strength.STRONG,
        amr=("hwk", "otp"),
        enrollable=False,
    )
    settings_model: ClassVar[type[BaseModel] | None] = OathSettings
    import_formats: ClassVar[tuple[str, ...]] = ("pskc", "csv")

    @property
    def conf(self) -> OathSettings:
        return self.settings if isinstance(self.settings, OathSettings) else DEFAULTS

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        raise Invalid("not_enrollable")  # imported by the operator, then assigned or claimed

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        return {}

    def parse_tokens(self, source: TokenFile) -> ParsedTokens:
        if source.fmt == "pskc":
            return pskc.parse(source.data, password=source.password, key=source.key)
        return csvfile.parse(source.data)

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
        if cred.secret is None:
            return Verdict(ok=False, reason="no_secret")
        token = from_json(cred.params)
        if len(resp.code) != token.otp_params.digits:
            return Verdict(ok=False, reason="wrong_code")
        if token.otp == HOTP:
            return self._hotp(cred, token, resp.code)
        return self._totp(ctx, cred, token, resp.code)

    def _hotp(self, cred: CredentialView, token: TokenParams, code: str) -> Verdict:
        """RFC 4226 §7.2: the next counter value or up to ``look_ahead`` beyond it."""
        start = 0 if cred.counter is None else cred.counter + 1
        found = _first(cred.secret, token, code, range(start, start + self.conf.look_ahead + 1))
        if found is not None:
            return Verdict(ok=True, counter=Counter(found))
        used = range(max(0, start - self.conf.look_ahead), start)
        if _first(cred.secret, token, code, used) is not None:
            return Verdict(ok=False, reason="replay")
        return Verdict(ok=False, reason="wrong_code")

    def _totp(self, ctx: Context, cred: CredentialView, token: TokenParams, code: str) -> Verdict:
        """RFC 6238 §6: the window is centred on the drift of the last accepted code."""
        now = otp.time_step(ctx.now().timestamp(), token.otp_params)
        centre = now + token.drift
        steps = [centre] + [centre + d * s for d in range(1, self.conf.window + 1) for s in (-1, 1)]
        step = _first(cred.secret, token, code, [s for s in steps if s >= 0])
        if step is None:
            return Verdict(ok=False, reason="wrong_code")
        if cred.counter is not None and step <= cred.counter:
            return Verdict(ok=False, reason="replay")
        drift = step - now
        params = None if drift == token.drift else {**cred.params, "drift": drift}
        return Verdict(ok=True, counter=Counter(step), params=params, details={"drift": drift})

    def verify_claim(self, ctx: Context, cred: CredentialView, codes: Sequence[str]) -> Verdict:
        """Two consecutive codes, searched ``resync_window`` presses ahead (HOTP) or steps
        either side of now (TOTP): the counter moves to the second, the drift is learnt."""
        cleaned = [self.normalise_response(code) for code in codes]
        if len(cleaned) != 2 or cred.secret is None:
            return Verdict(ok=False, reason="two_codes_needed")
        first, second = cleaned
        if first is None or second is None:
            return Verdict(ok=False, reason="wrong_code")
        token = from_json(cred.params)
        reach = self.conf.resync_window
        if token.otp == HOTP:
            start = 0 if cred.counter is None else cred.counter + 1
            candidates: Sequence[int] = range(start, start + reach)
            now = 0
        else:
            now = otp.time_step(ctx.now().timestamp(), token.otp_params)
            lowest = now - reach if cred.counter is None else max(now - reach, cred.counter + 1)
            candidates = sorted(range(max(0, lowest), now + reach), key=lambda s: abs(s - now))
        for at in candidates:
            if _same(cred.secret, token, first, at) and _same(cred.secret, token, second, at + 1):
                if token.otp == HOTP:
                    return Verdict(ok=True, counter=Counter(at + 1))
                params = {**cred.params, "drift": at + 1 - now}
                return Verdict(ok=True, counter=Counter(at + 1), params=params)
        return Verdict(ok=False, reason="wrong_code")


def _same(secret: bytes, token: TokenParams, code: str, at: int) -> bool:
    return hmac.compare_digest(otp.hotp(secret, at, token.otp_params), code)


def _first(secret: bytes | None, token: TokenParams, code: str, at: Sequence[int]) -> int | None:
    assert secret is not None
    return next((c for c in at if _same(secret, token, code, c)), None)
