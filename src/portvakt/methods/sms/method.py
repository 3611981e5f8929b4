"""SMS codes (docs/methods/sms.md): a six-digit code sent by text message to a confirmed phone
number. A weak method (NIST SP 800-63B: PSTN is restricted), off where policy forbids it.

Everything here is pure: the code is drawn here, its keyed hash (bound to the challenge) is
kept in the challenge's data, the text goes out as a ``Delivery`` on the channel of that name
after the commit, and the budgets against SMS pumping are counters the core spends
(``SendBudget``). A code works for five minutes, once, and five wrong tries end it."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import phonenumbers
from pydantic import BaseModel

from portvakt.context import Context
from portvakt.domain import CredentialView, Door, UserRef
from portvakt.errors import Invalid, Throttled
from portvakt.methods.base import (
    NO_ANSWERS,
    Answer,
    Capabilities,
    ChallengeRequest,
    ChallengeState,
    ChallengeView,
    CodeShape,
    Delivery,
    EnrollmentStep,
    FactorResponse,
    Issued,
    MethodDefaults,
    Purpose,
    SendBudget,
    Strength,
    Verdict,
)
from portvakt.methods.sms import phone, text
from portvakt.methods.sms.settings import DEFAULTS, SmsSettings

DIGITS = 6
CHANNEL = "sms"  # the delivery channel (channels/sms)
QUARTER, HOUR, DAY = 900, 3600, 86400
PREFIX = 3  # national digits after the country code that name a number range (SMS pumping)


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


class SmsMethod(MethodDefaults):
    kind: ClassVar[str] = "sms"
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CODE,
        code=CodeShape(pattern="[0-9]{6}", min_length=DIGITS, max_length=11),
        challenge=True,
        doors=frozenset({"web", "api", "oidc"}),
        strength=Strength.WEAK,
        amr=("sms", "mfa"),
        enroll_fields=("phone",),
    )
    settings_model: ClassVar[type[BaseModel] | None] = SmsSettings

    @property
    def conf(self) -> SmsSettings:
        return self.settings if isinstance(self.settings, SmsSettings) else DEFAULTS

    @staticmethod
    def digest(ctx: Context, bound_to: str, code: str) -> str:
        return ctx.box.keyed_hash(f"{bound_to}:{code}".encode(), purpose="sms-code")

    def parse_phone(self, raw: str) -> str:
        """E.164, or ``Invalid`` (``phone_invalid``, ``phone_country``)."""
        conf = self.conf
        return phone.parse(raw, default_region=conf.default_region, regions=conf.regions)

    # -- adding a phone ------------------------------------------------------------------------

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        """The number typed on the start page (or the one an operator registered for the
        person) gets a code; the credential counts once the code is typed back."""
        raw = answers.get("phone") or user.phone or ""
        if not raw.strip():
            raise Invalid("phone_required")
        number = self.parse_phone(raw)
        code = new_code()
        sent_at = ctx.now().isoformat()
        message = text.message(ctx, code, minutes=self.conf.code_seconds // 60)
        return EnrollmentStep(
            secret=code.encode(),
            params={"phone": number, "sent_at": sent_at},
            deliveries=(Delivery(CHANNEL, number, {"text": message}),),
            budgets=self._budgets(ctx, user.id, number),
        )

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        return {"phone": phone.masked(str(cred.params.get("phone", "")))}

    def finish_enrollment(
        self, ctx: Context, cred: CredentialView, resp: FactorResponse
    ) -> Verdict:
        """The code sent to the new number, typed back in time: the number is confirmed."""
        sent = cred.params.get("sent_at")
        if cred.secret is None or not isinstance(sent, str):
            return Verdict(ok=False, reason="wrong_code")
        if ctx.now() >= datetime.fromisoformat(sent) + timedelta(seconds=self.conf.code_seconds):
            return Verdict(ok=False, reason="expired")
        if not hmac.compare_digest(resp.code.encode(), cred.secret):
            return Verdict(ok=False, reason="wrong_code")
        return Verdict(ok=True, params={"phone": cred.params["phone"]}, forget_secret=True)

    # -- signing in ----------------------------------------------------------------------------

    def challenge(self, ctx: Context, request: ChallengeRequest) -> Issued:
        conf = self.conf
        cred = pick(request.credentials)
        if cred is None:
            raise Invalid("kind_not_allowed")
        number = str(cred.params.get("phone", ""))
        if not phone.allowed(number, conf.regions):
            raise Invalid("phone_country")
        wait = resend_wait(request.recent, ctx.now(), conf.resend_seconds)
        if wait:
            raise Throttled("code_resend", retry_after=wait)
        code = new_code()
        message = text.message(ctx, code, minutes=conf.code_seconds // 60)
        return Issued(
            data={
                "hash": self.digest(ctx, request.id, code),
                "credential_id": cred.id,
                "phone": phone.masked(number),
            },
            seconds=conf.code_seconds,
            prompt={"phone": phone.masked(number)},
            deliveries=(Delivery(CHANNEL, number, {"text": message, "tx": request.id}),),
            supersede=request.purpose is not Purpose.ENROLLMENT,
            budgets=self._budgets(ctx, request.user.id, number),
        )

    def prompt(self, ctx: Context, challenge: ChallengeView) -> Mapping[str, Any]:
        return {"phone": challenge.data.get("phone", "")} if "phone" in challenge.data else {}

    def normalise_response(self, raw: str) -> str | None:
        cleaned = raw.replace(" ", "").replace("-", "").strip()
        if len(cleaned) != DIGITS or not cleaned.isascii() or not cleaned.isdigit():
            return None
        return cleaned

    def verify(  # noqa: PLR0911 - one answer per rule
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        """The code of ``challenge``, sent to ``cred``'s number. A wrong code leaves the
        challenge pending, counts, and is one more of its ``attempts`` (in its data); the
        ``max_attempts``-th wrong one ends it."""
        if challenge is None:
            return Verdict(ok=False, reason="no_challenge", counts=False)
        if challenge.state is not ChallengeState.PENDING:
            return Verdict(ok=False, reason="not_pending", counts=False, challenge=challenge.state)
        if challenge.data.get("credential_id") != cred.id:
            return Verdict(
                ok=False, reason="other_phone", counts=False, challenge=ChallengeState.PENDING
            )
        if ctx.now() >= challenge.expires_at:
            return Verdict(ok=False, reason="expired", counts=False)
        wanted = str(challenge.data.get("hash", ""))
        if hmac.compare_digest(self.digest(ctx, challenge.id, resp.code), wanted):
            return Verdict(ok=True)
        attempts = int(challenge.data.get("attempts", 0)) + 1
        data = {**challenge.data, "attempts": attempts}
        if attempts >= self.conf.max_attempts:
            return Verdict(
                ok=False,
                reason="too_many_attempts",
                challenge=ChallengeState.FAILED,
                challenge_data=data,
            )
        return Verdict(
            ok=False, reason="wrong_code", challenge=ChallengeState.PENDING, challenge_data=data
        )

    def answering_credential(
        self,
        challenge: ChallengeView,
        resp: FactorResponse,
        credentials: Sequence[CredentialView],
    ) -> CredentialView | None:
        """The phone the code was sent to (kept in the challenge's data)."""
        sent_to = challenge.data.get("credential_id")
        return next((c for c in credentials if c.id == sent_to), None)

    def _budgets(self, ctx: Context, user_id: int, number: str) -> tuple[SendBudget, ...]:
        conf = self.conf
        hashed = ctx.box.keyed_hash(number.encode(), purpose="sms-budget")[:32]
        budgets = [
            SendBudget("number", f"sms-number:{hashed}", conf.per_number_hour, HOUR),
            SendBudget(
                "person_quarter", f"sms-person-15:{user_id}", conf.per_person_quarter, QUARTER
            ),
            SendBudget("person", f"sms-person:{user_id}", conf.per_person_hour, HOUR),
            SendBudget("prefix", f"sms-prefix:{prefix_of(number)}", conf.per_prefix_hour, HOUR),
            SendBudget("person_day", f"sms-person-day:{user_id}", conf.per_person_day, DAY),
            SendBudget("service", "sms-service", conf.per_service_hour, HOUR),
        ]
        if ctx.ip and ctx.door is not Door.API:  # an integration speaks for many addresses
            key = f"sms-address:{ctx.ip}"
            budgets.append(SendBudget("address", key, conf.per_address_hour, HOUR))
        return tuple(budgets)


def prefix_of(number: str) -> str:
    """The number range an E.164 number is in: its country code and the next digits (premium
    and pumped numbers come in ranges)."""
    parsed = phonenumbers.parse(number)
    national = str(parsed.national_number)
    return f"+{parsed.country_code}{national[:PREFIX]}"


def pick(credentials: Sequence[CredentialView]) -> CredentialView | None:
    """The number a code goes to: the default one, else the one used last, else the newest."""
    if not credentials:
        return None
    return max(
        credentials,
        key=lambda c: (c.is_default, c.last_used_at or c.created_at, c.created_at, c.id),
    )


def resend_wait(recent: Sequence[ChallengeView], now: datetime, seconds: int) -> int:
    """Seconds to wait before another code (0: now), from the newest one sent."""
    sent = [c.created_at for c in recent if c.purpose is not Purpose.ENROLLMENT]
    if not sent or not seconds:
        return 0
    left = (max(sent) + timedelta(seconds=seconds) - now).total_seconds()
    return max(0, int(left) + (1 if left % 1 else 0))
