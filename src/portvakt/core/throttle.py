"""Second-factor lockout, the same for every method and door (RL-01..RL-04).

After every ``threshold`` consecutive failures the account's second factor locks for a time
that doubles with each lock (5 min, 10 min, … capped at 1 h); during a lock even a right code
is refused and nothing is counted. At ``hard_limit`` consecutive failures (NIST: at most 100)
it stays blocked until an administrator unlocks it. A success resets the consecutive count.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.domain import FactorLock
from portvakt.errors import Throttled
from portvakt.policy.knobs import Knobs
from portvakt.store.repos import factors

LOCK_LEVEL_DECAY = timedelta(hours=24)


def ensure_open(lock: FactorLock, now: datetime) -> None:
    if lock.blocked:
        raise Throttled("factor_blocked", retry_after=3600)
    if lock.locked_until is not None and lock.locked_until > now:
        raise Throttled("factor_locked", retry_after=_seconds(lock.locked_until - now))


def failed(
    session: Session,
    ctx: Context,
    user_id: int | None,
    lock: FactorLock,
    knobs: Knobs,
    *,
    method: str | None,
) -> tuple[FactorLock, Throttled | None]:
    """Count one failure: the new lock state (the caller stores it) and the ``Throttled`` to
    raise *after* the transaction commits (raising inside it would roll the count back). A lock
    or block is audited here (``user_id`` None: a name that is no live person, see
    ``core.namelock``)."""
    now = ctx.now()
    lock = replace(lock, failures=lock.failures + 1)
    if lock.failures >= knobs.hard_limit:
        record(
            session,
            ctx,
            Event.FACTOR_BLOCKED,
            outcome="failure",
            user_id=user_id,
            method=method,
            details={"failures": lock.failures},
        )
        return replace(lock, blocked=True), Throttled("factor_blocked", retry_after=3600)
    if lock.failures % knobs.lockout_threshold == 0:
        last_end = lock.locked_until
        lockouts = lock.lockouts
        if last_end is not None and now - last_end > LOCK_LEVEL_DECAY:
            lockouts = 0
        lockouts += 1
        seconds = min(knobs.lockout_seconds * 2 ** (lockouts - 1), knobs.lockout_max_seconds)
        lock = replace(lock, lockouts=lockouts, locked_until=now + timedelta(seconds=seconds))
        record(
            session,
            ctx,
            Event.FACTOR_LOCKED,
            outcome="failure",
            user_id=user_id,
            method=method,
            details={"failures": lock.failures, "seconds": seconds},
        )
        return lock, Throttled("factor_locked", retry_after=seconds)
    return lock, None


def unlock(session: Session, ctx: Context, user_id: int) -> None:
    """An administrator lifts a lock or block; the count of failures starts again."""
    factors.save_lock(session, user_id, FactorLock())
    record(session, ctx, Event.FACTOR_UNLOCKED, user_id=user_id)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))
