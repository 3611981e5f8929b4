"""Temporary access pass: a pass an operator issues after a lost phone (``portvakt user
tap``), typed after the password instead of the second factor; a sign-in with it may only add
a new method (docs/methods/tap.md).

The pass is 16 characters from an alphabet without look-alikes (about 79 bits), printed once
in groups of four. Only a keyed hash is kept (HMAC-SHA256 with the server's hash key, bound to
the person), with its end and its number of uses; each sign-in uses one up (``params["used"]``,
once even under concurrency). It is never the default, never added by people, never the
method that keeps two-step verification on, and works at the web door only.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from portvakt.context import Context
from portvakt.domain import CredentialView, UserRef
from portvakt.errors import Invalid
from portvakt.methods.base import (
    NO_ANSWERS,
    Answer,
    Capabilities,
    ChallengeView,
    CodeShape,
    EnrollmentStep,
    FactorResponse,
    Grant,
    MethodDefaults,
    OperatorIssue,
    Strength,
    Verdict,
)
from portvakt.methods.tap.settings import DEFAULTS, TapSettings

LENGTH = 16  # characters
GROUP = 4  # printed in groups of this many
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i


def new_pass() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(value: str) -> str:
    """``abcd-efgh-jkmn-pqrs``: as printed for the operator."""
    return "-".join(value[at : at + GROUP] for at in range(0, len(value), GROUP))


def uses_left(cred: CredentialView) -> int:
    return max(0, int(cred.params.get("uses", 0)) - len(cred.params.get("used", ())))


def expires_at(cred: CredentialView) -> datetime:
    return datetime.fromisoformat(str(cred.params["expires_at"]))


class TapMethod(MethodDefaults):
    kind: ClassVar[str] = "tap"
    settings_model: ClassVar[type[BaseModel] | None] = TapSettings
    capabilities: ClassVar[Capabilities] = Capabilities(
        answer=Answer.CODE,
        code=CodeShape(
            pattern="[2-9a-hjkmnp-z]{16}", min_length=LENGTH, max_length=24, numeric=False
        ),
        doors=frozenset({"web"}),
        strength=Strength.STRONG,
        amr=("otp",),
        enrollable=False,
        fallback=True,
        one_per_person=True,
        issued_by_operator=True,
        grants=Grant.ENROLLMENT,
    )

    @property
    def conf(self) -> TapSettings:
        """The validated ``[methods.tap]`` settings (defaults until configured)."""
        return self.settings if isinstance(self.settings, TapSettings) else DEFAULTS

    @staticmethod
    def digest(ctx: Context, user_id: int, value: str) -> str:
        return ctx.box.keyed_hash(f"{user_id}:{value}".encode(), purpose="temporary-access-pass")

    def issue(
        self, ctx: Context, user: UserRef, *, hours: int | None, uses: int | None
    ) -> OperatorIssue:
        conf = self.conf
        hours = conf.default_hours if hours is None else hours
        uses = conf.default_uses if uses is None else uses
        if not 1 <= hours <= conf.max_hours:
            raise Invalid("hours_out_of_range", f"1–{conf.max_hours}")
        if not 1 <= uses <= conf.max_uses:
            raise Invalid("uses_out_of_range", f"1–{conf.max_uses}")
        value = new_pass()
        until = (ctx.now() + timedelta(hours=hours)).replace(microsecond=0)
        params = {
            "hash": self.digest(ctx, user.id, value),
            "expires_at": until.isoformat(),
            "uses": uses,
            "used": [],
        }
        return OperatorIssue(shown=shown(value), params=params, expires_at=until, uses=uses)

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        """A pass with the default hours and uses (the core only issues through ``issue``)."""
        issued = self.issue(ctx, user, hours=None, uses=None)
        return EnrollmentStep(secret=issued.shown.encode(), params=issued.params)

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        return {"expires_at": expires_at(cred), "uses_left": uses_left(cred)}

    def usable(self, ctx: Context, cred: CredentialView) -> bool:
        return ctx.now() < expires_at(cred) and uses_left(cred) > 0

    def normalise_response(self, raw: str) -> str | None:
        cleaned = raw.replace(" ", "").replace("-", "").strip().lower()
        if len(cleaned) != LENGTH or not all(c in ALPHABET for c in cleaned):
            return None
        return cleaned

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        wanted = self.digest(ctx, cred.user_id, resp.code)
        if not hmac.compare_digest(str(cred.params.get("hash", "")), wanted):
            return Verdict(ok=False, reason="wrong_code")
        if ctx.now() >= expires_at(cred):
            return Verdict(ok=False, reason="expired")
        left = uses_left(cred)
        if left <= 0:
            return Verdict(ok=False, reason="used_up")
        used = len(cred.params.get("used", ()))
        return Verdict(ok=True, consumed=str(used), details={"uses_left": left - 1})
