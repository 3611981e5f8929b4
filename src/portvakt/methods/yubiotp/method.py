"""YubiKey OTP (Yubico OTP mode), validated here with each key's AES key, imported from the
personalization tool's CSV log. The public id at the start of every code is the token's
serial and binds the key to its person; the usage and session counters, packed into one
growing integer (``usage << 8 | session``), are moved forward by compare-and-set, so one
code is accepted once, whatever the number of instances."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from portvakt.context import Context
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
from portvakt.methods.yubiotp import importer, otp

KEY_BYTES = 16


class YubicoOtpMethod(MethodDefaults):
    kind: ClassVar[str] = "yubiotp"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CODE,
        code=CodeShape(
            pattern=f"[{otp.MODHEX}]{{32,64}}", min_length=32, max_length=80, numeric=False
        ),
        doors=frozenset({"web", "api", "radius", "oidc"}),
        strength=Strength.STRONG,
        amr=("hwk", "otp"),
        enrollable=False,
    )
    import_formats: ClassVar[tuple[str, ...]] = ("yubico-csv",)

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
        return importer.parse(source.data)

    def normalise_response(self, raw: str) -> str | None:
        cleaned = raw.strip().replace(" ", "").lower()
        try:
            otp.split(cleaned)
        except otp.BadOtp:
            return None
        return cleaned

    def claim_serial(self, code: str) -> str | None:
        cleaned = self.normalise_response(code)
        return otp.split(cleaned)[0] if cleaned else None

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        secret = cred.secret
        if secret is None or len(secret) != KEY_BYTES + 6:
            return Verdict(ok=False, reason="no_secret")
        try:
            public_id, token = otp.split(resp.code)
            if public_id != cred.params.get("serial"):
                return Verdict(ok=False, reason="other_key")
            plain = otp.decrypt(token, secret[:KEY_BYTES])
        except otp.BadOtp as exc:
            return Verdict(ok=False, reason=str(exc))
        if not hmac.compare_digest(plain.private_id, secret[KEY_BYTES:]):
            return Verdict(ok=False, reason="wrong_private_id")
        if cred.counter is not None and plain.counter <= cred.counter:
            return Verdict(ok=False, reason="replay")
        details = {"usage": plain.usage, "session": plain.session}
        return Verdict(ok=True, counter=Counter(plain.counter), details=details)

    def verify_claim(self, ctx: Context, cred: CredentialView, codes: Sequence[str]) -> Verdict:
        """One touch: the code names the key (its public id) and proves it is at hand."""
        cleaned = [self.normalise_response(code) for code in codes if code.strip()]
        if len(cleaned) != 1 or cleaned[0] is None:
            return Verdict(ok=False, reason="one_code_needed")
        return self.verify(ctx, cred, None, FactorResponse(code=cleaned[0]))
