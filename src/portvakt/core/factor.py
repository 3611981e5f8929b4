"""Checking a typed code against the person's credentials of one kind, under a row lock, with
replay state moved forward by compare-and-set (STYLE habit 6; OTP-03, OTP-04)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import ratelimit, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_view
from portvakt.errors import Throttled
from portvakt.methods.base import FactorResponse
from portvakt.store.models import Credential
from portvakt.store.repos import credentials, users


@dataclass(frozen=True, slots=True)
class FactorOutcome:
    ok: bool
    credential_id: int | None = None
    throttled: Throttled | None = None


def check_code(
    s: Session, core: Core, ctx: Context, *, user_id: int, kind: str, raw_code: str
) -> FactorOutcome:
    """Verify ``raw_code`` for one kind. Only the credential that matched changes state; a
    failure counts once against the account, whatever the number of credentials tried."""
    user = users.by_id(s, user_id, for_update=True)
    if user is None or kind not in core.registry:
        return FactorOutcome(ok=False)
    ip_key = f"code-ip:{ctx.ip}"
    window = ctx.settings.rate_window_seconds
    try:
        throttle.ensure_open(user, ctx.now())
        ratelimit.ensure_below(
            s, ip_key, limit=ctx.settings.code_failures_per_ip, now=ctx.now(), window=window
        )
    except Throttled as exc:
        record(s, ctx, Event.SIGNIN_THROTTLED, outcome="failure", user_id=user_id, method=kind)
        return FactorOutcome(ok=False, throttled=exc)
    method = core.registry.get(kind)
    code = method.normalise_response(raw_code)
    replayed = False
    if code is not None:
        for row in _candidates(s, user_id, kind):
            verdict = method.verify(ctx, open_view(ctx, row), FactorResponse(code=code))
            replayed = replayed or verdict.reason == "replay"
            if verdict.ok and verdict.counter is not None:
                if credentials.advance_counter(s, row.id, verdict.counter, ctx.now()):
                    throttle.register_success(user)
                    return FactorOutcome(ok=True, credential_id=row.id)
                replayed = True
    event = Event.FACTOR_REPLAY if replayed else Event.FACTOR_FAILED
    record(s, ctx, event, outcome="failure", user_id=user_id, method=kind)
    ratelimit.hit(s, ip_key, now=ctx.now(), window=window)
    lock = throttle.register_failure(s, ctx, user, core.knobs, method=kind)
    return FactorOutcome(ok=False, throttled=lock)


def _candidates(s: Session, user_id: int, kind: str) -> list[Credential]:
    rows = [r for r in credentials.for_user(s, user_id, active_only=True) if r.kind == kind]
    return sorted(rows, key=lambda r: (not r.is_default, r.id))
