"""Push approval with the Portvakt Authenticator (docs/protocol.md, docs/methods/push.md).

Out of band: nobody types a code into the browser. The challenge's number is derived from its
id with a keyed hash, so the waiting page can be reloaded and still show it while the app never
receives it (PUSH-01, PUSH-05); only a digest bound to the nonce is stored. An answer is a
message the device signed with the key it registered (PUSH-02); ``verify`` checks it against the
challenge and says approved, denied or failed. Everything here is pure: the core does the I/O.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from portvakt import protocol
from portvakt.context import Context
from portvakt.crypto import random
from portvakt.domain import CredentialView, UserRef
from portvakt.errors import Invalid
from portvakt.methods.base import (
    NO_ANSWERS,
    Answer,
    Capabilities,
    ChallengeRequest,
    ChallengeState,
    ChallengeView,
    Delivery,
    EnrollmentStep,
    FactorResponse,
    Issued,
    MethodDefaults,
    Purpose,
    Strength,
    Verdict,
)
from portvakt.methods.push import device, fatigue
from portvakt.methods.push.device import number_for
from portvakt.methods.push.settings import DEFAULTS, PushSettings


class PushMethod(MethodDefaults):
    kind: ClassVar[str] = "push"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.NONE,
        challenge=True,
        doors=frozenset({"web", "api", "oidc"}),
        strength=Strength.STRONG,
        amr=("swk", "mfa"),
    )
    app = device  # the device protocol: registration, device authentication, signed messages
    settings_model: ClassVar[type[BaseModel] | None] = PushSettings

    @property
    def conf(self) -> PushSettings:
        """The validated ``[methods.push]`` settings (defaults until configured)."""
        return self.settings if isinstance(self.settings, PushSettings) else DEFAULTS

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        """The secret is the activation token inside the QR (single use, sealed at rest)."""
        return EnrollmentStep(secret=random.token().encode(), params={})

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        """The activation QR (until the app registers), then the test number to match."""
        minutes = self.conf.activation_minutes
        return device.activation_display(ctx, user, cred, challenge, app_key, minutes)

    def finish_enrollment(
        self, ctx: Context, cred: CredentialView, resp: FactorResponse
    ) -> Verdict:
        return Verdict(ok=False, reason="out_of_band")  # the app answers its test challenge

    def normalise_response(self, raw: str) -> str | None:
        return None  # nothing is typed into the browser

    def challenge(self, ctx: Context, request: ChallengeRequest) -> Issued:
        conf, issuer = self.conf, ctx.settings.issuer
        now = ctx.now()
        if request.purpose is Purpose.ENROLLMENT:
            match_mode = protocol.MatchMode.TYPE.value
            seconds = conf.activation_minutes * 60
            context = {"service": issuer, "ip": request.place.get("ip", "")}
        else:
            refused = fatigue.refusal(conf, request.recent, now)
            if refused is not None:
                raise refused
            match_mode, seconds = conf.match_mode, conf.challenge_seconds
            context = {**request.place, "account": request.user.username}
            context["service"] = issuer
        if not request.credentials:
            raise Invalid("kind_not_allowed")
        context["time"] = now.isoformat(timespec="seconds")
        digits = conf.number_digits
        nonce = protocol.new_id()
        number = number_for(ctx, request.id, digits)
        choices = protocol.pick_choices(number) if match_mode == protocol.MatchMode.PICK else []
        data = {
            "nonce": nonce,
            "number_digest": protocol.number_digest(number, nonce),
            "match_mode": match_mode,
            "digits": digits,
            "choices": choices,
            "context": context,
        }
        note = {"type": "challenge", "tx": request.id}
        return Issued(
            data=data,
            seconds=seconds,
            prompt={"number": number},
            deliveries=(Delivery("notify", f"user:{request.user.id}", note),),
            supersede=request.purpose is not Purpose.ENROLLMENT,
        )

    def prompt(self, ctx: Context, challenge: ChallengeView) -> Mapping[str, Any]:
        return {"number": number_for(ctx, challenge.id, int(challenge.data.get("digits", 2)))}

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        """An app's signed answer (``payload["token"]``) to ``challenge``, from the device of
        ``cred``: approved, denied (the person said no: not counted as a wrong answer, but
        "not me" raises an alert) or failed (a wrong number counts as a wrong answer)."""
        token = (resp.payload or {}).get("token")
        if challenge is None or not isinstance(token, str):
            return Verdict(ok=False, reason="malformed", counts=False)
        if challenge.state is not ChallengeState.PENDING:  # answered once, for good
            return Verdict(ok=False, reason="not_pending", counts=False, challenge=challenge.state)
        try:
            claims = device.verified(ctx, cred, token, protocol.MessageType.ANSWER)
        except protocol.ProtocolError as exc:
            return Verdict(
                ok=False, reason=exc.code, counts=False, challenge=ChallengeState.PENDING
            )
        outcome, reason = check_answer(claims, challenge, ctx, require_uv=self.conf.require_uv)
        details = {
            "purpose": challenge.purpose.value,
            "context": dict(challenge.data.get("context", {})),
        }
        if outcome == "approved":
            return Verdict(ok=True, details=details)
        if outcome == "denied":
            alert = reason == protocol.DenyReason.NOT_ME
            return Verdict(
                ok=False,
                reason=reason,
                challenge=ChallengeState.DENIED,
                counts=False,
                alert=alert,
                details=details,
            )
        counts = reason == "wrong_number" and challenge.purpose is not Purpose.ENROLLMENT
        return Verdict(ok=False, reason=reason, counts=counts, details=details)

    def activation_usable(self, ctx: Context, cred: CredentialView | None, secret: str) -> bool:
        """The activation code of a pending credential is right and still in time."""
        return device.activation_usable(ctx, cred, secret, self.conf.activation_minutes)

    def challenge_claims(
        self, ctx: Context, challenge: ChallengeView, *, server: str, device_id: str
    ) -> dict[str, Any]:
        """The claims of the signed challenge a device is sent (never the number itself)."""
        data = challenge.data
        match: dict[str, Any] = {"mode": data["match_mode"], "digits": data["digits"]}
        if data["match_mode"] == protocol.MatchMode.PICK:
            match["choices"] = list(data.get("choices", ()))
        return {
            "iss": server,
            "aud": device_id,
            "tx": challenge.id,
            "nonce": data["nonce"],
            "purpose": challenge.purpose.value,
            "match": match,
            "context": dict(data.get("context", {})),
        }


def check_answer(  # noqa: PLR0911 - one answer per protocol rule
    claims: Mapping[str, Any], challenge: ChallengeView, ctx: Context, *, require_uv: bool
) -> tuple[str, str]:
    """(outcome, reason) for a signature-verified answer: ``approved``, ``denied`` or
    ``failed`` with a reason such as ``wrong_number``. Compares in constant time."""
    nonce = claims.get("nonce")
    expected = str(challenge.data.get("nonce", ""))
    if (
        claims.get("tx") != challenge.id
        or not isinstance(nonce, str)
        or not hmac.compare_digest(nonce.encode(), expected.encode())  # text: ASCII only
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
    number = claims.get("number")
    if not isinstance(number, str) or not number:
        return "failed", "malformed"
    right = number_for(ctx, challenge.id, int(challenge.data.get("digits", 2)))
    if not hmac.compare_digest(number.encode(), right.encode()):
        return "failed", "wrong_number"
    if require_uv and claims.get("uv") is not True:
        return "failed", "uv_required"
    return "approved", ""
