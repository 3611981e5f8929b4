"""Checking a typed code against the person's credentials of one kind, under a row lock, with
replay state moved forward by compare-and-set (STYLE habit 6; OTP-03, OTP-04).

Shared by every door: the sign-in and step-up pages call ``check_code`` with the person's id,
the validate API calls ``check_subject`` with the person it read by username. Either way the
person's lock state and credentials come from one statement, and a success writes one row
(more only to reset the failure count)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import ratelimit, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed
from portvakt.errors import Throttled
from portvakt.methods.base import FactorResponse
from portvakt.store.repos import credentials, factors
from portvakt.store.repos.factors import FactorSubject, SealedCredential


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
    subject = factors.by_id(s, user_id, rate_key=address_key(ctx))
    if subject is None:
        return FactorOutcome(ok=False)
    return check_subject(s, core, ctx, subject, kind=kind, raw_code=raw_code)


def check_subject(
    s: Session, core: Core, ctx: Context, subject: FactorSubject, *, kind: str, raw_code: str
) -> FactorOutcome:
    """``check_code`` for a person already read (and locked) with ``store.repos.factors``,
    with the counter ``address_key(ctx)``."""
    if kind not in core.registry:
        return FactorOutcome(ok=False)
    user_id = subject.user_id
    ip_key = address_key(ctx)
    window = ctx.settings.rate_window_seconds
    try:
        throttle.ensure_open(subject.lock, ctx.now())
        ratelimit.check_below(
            subject.counter, limit=ctx.settings.code_failures_per_ip, now=ctx.now(), window=window
        )
    except Throttled as exc:
        record(s, ctx, Event.SIGNIN_THROTTLED, outcome="failure", user_id=user_id, method=kind)
        return FactorOutcome(ok=False, throttled=exc)
    method = core.registry.get(kind)
    code = method.normalise_response(raw_code)
    replayed = False
    if code is not None:
        for credential in _candidates(subject, kind):
            verdict = method.verify(ctx, open_sealed(ctx, credential), FactorResponse(code=code))
            replayed = replayed or verdict.reason == "replay"
            if verdict.ok and verdict.counter is not None:
                if credentials.advance_counter(s, credential.view.id, verdict.counter, ctx.now()):
                    lock = subject.lock
                    if lock.failures:
                        lock = replace(lock, failures=0)
                        factors.save_lock(s, user_id, lock)
                    return FactorOutcome(ok=True, credential_id=credential.view.id)
                replayed = True
    event = Event.FACTOR_REPLAY if replayed else Event.FACTOR_FAILED
    record(s, ctx, event, outcome="failure", user_id=user_id, method=kind)
    ratelimit.hit(s, ip_key, now=ctx.now(), window=window)
    lock, throttled = throttle.failed(s, ctx, user_id, subject.lock, core.knobs, method=kind)
    factors.save_lock(s, user_id, lock)
    return FactorOutcome(ok=False, throttled=throttled)


def address_key(ctx: Context) -> str:
    """The rate counter of wrong codes from the caller's address (RL-03), for every door."""
    return f"code-ip:{ctx.ip}"


def _candidates(subject: FactorSubject, kind: str) -> list[SealedCredential]:
    rows = [c for c in subject.credentials if c.view.kind == kind]
    return sorted(rows, key=lambda c: (not c.view.is_default, c.view.id))
