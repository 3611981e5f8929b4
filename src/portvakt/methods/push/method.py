"""Push approval with the Portvakt Authenticator (docs/protocol.md).

The method is out of band: nobody types a code into the browser. Everything that can be
decided without a database lives here and is pure: the challenge claims sent to a device, and
the checks on a verified answer (PUSH-01, PUSH-02). The core does the I/O and the state.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from portvakt import protocol
from portvakt.context import Context
from portvakt.crypto import random
from portvakt.domain import CredentialView, UserRef
from portvakt.methods.base import (
    Answer,
    Capabilities,
    ChallengeView,
    EnrollmentStep,
    FactorResponse,
    MethodDefaults,
    Strength,
    Verdict,
)


@dataclass(frozen=True, slots=True)
class ChallengeData:
    """The stored facts of one challenge that a device answer is checked against."""

    tx: str
    nonce: str
    number: str
    expires_at: datetime
    purpose: str
    match_mode: str
    digits: int
    choices: tuple[str, ...]
    context: dict[str, Any]


class PushMethod(MethodDefaults):
    kind: ClassVar[str] = "push"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.NONE,
        challenge=True,
        doors=frozenset({"web", "api", "oidc"}),
        strength=Strength.STRONG,
        amr=("swk", "mfa"),
    )

    def begin_enrollment(self, ctx: Context, user: UserRef) -> EnrollmentStep:
        """The secret is the activation token inside the QR (single use, sealed at rest)."""
        return EnrollmentStep(secret=random.token().encode(), params={})

    def enrollment_display(
        self, ctx: Context, user: UserRef, cred: CredentialView
    ) -> dict[str, str]:
        return {}  # the activation page is built by core.push (it needs the server key)

    def normalise_response(self, raw: str) -> str | None:
        return None  # nothing is typed into the browser

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        return Verdict(ok=False, reason="out_of_band")

    # -- protocol ------------------------------------------------------------------------------

    def challenge_claims(self, ch: ChallengeData, *, server: str, device_id: str) -> dict[str, Any]:
        match: dict[str, Any] = {"mode": ch.match_mode, "digits": ch.digits}
        if ch.match_mode == protocol.MatchMode.PICK:
            match["choices"] = list(ch.choices)
        return {
            "iss": server,
            "aud": device_id,
            "tx": ch.tx,
            "nonce": ch.nonce,
            "purpose": ch.purpose,
            "match": match,
            "context": ch.context,
        }

    def check_answer(
        self, claims: dict[str, Any], ch: ChallengeData, *, require_uv: bool
    ) -> tuple[str, str]:
        """(outcome, reason) for a signature-verified answer: ``approved``, ``denied`` or
        ``failed`` with a reason such as ``wrong_number``. Compares in constant time."""
        nonce = claims.get("nonce")
        if (
            claims.get("tx") != ch.tx
            or not isinstance(nonce, str)
            or not hmac.compare_digest(nonce.encode(), ch.nonce.encode())  # text: ASCII only
        ):
            return "failed", "wrong_challenge"
        consent = claims.get("consent")
        if consent == protocol.Consent.DENY:
            reason = claims.get("reason")
            known = {r.value for r in protocol.DenyReason}
            named = isinstance(reason, str) and reason in known  # a list is unhashable
            return "denied", str(reason) if named else protocol.DenyReason.CANCELLED
        if consent != protocol.Consent.APPROVE:
            return "failed", "malformed"
        problem = _approval_problem(claims, ch, require_uv=require_uv)
        return ("failed", problem) if problem else ("approved", "")


def _approval_problem(claims: dict[str, Any], ch: ChallengeData, *, require_uv: bool) -> str:
    number = claims.get("number")
    if not isinstance(number, str) or not number:
        return "malformed"
    if not hmac.compare_digest(number.encode(), ch.number.encode()):
        return "wrong_number"
    if require_uv and claims.get("uv") is not True:
        return "uv_required"
    return ""
