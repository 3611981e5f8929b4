"""Second-factor lockout, the same for every method and door (RL-01..RL-04).

After every ``threshold`` consecutive failures the account's second factor locks for a time
that doubles with each lock (5 min, 10 min, … capped at 1 h); during a lock even a right code
is refused and nothing is counted. At ``hard_limit`` consecutive failures (NIST: at most 100)
it stays blocked until an administrator unlocks it. A success resets the consecutive count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.errors import Throttled
from portvakt.policy.knobs import Knobs
from portvakt.store.models import User

LOCK_LEVEL_DECAY = timedelta(hours=24)


def ensure_open(user: User, now: datetime) -> None:
    if user.factor_blocked:
        raise Throttled("factor_blocked", retry_after=3600)
    if user.factor_locked_until is not None and user.factor_locked_until > now:
        raise Throttled("factor_locked", retry_after=_seconds(user.factor_locked_until - now))


def register_failure(
    session: Session, ctx: Context, user: User, knobs: Knobs, *, method: str | None
) -> Throttled | None:
    """Count one failure; lock or block when a limit is reached. Returns the ``Throttled`` to
    raise *after* the transaction commits (raising inside it would roll the count back)."""
    now = ctx.now()
    user.factor_failures += 1
    if user.factor_failures >= knobs.hard_limit:
        user.factor_blocked = True
        record(
            session,
            ctx,
            Event.FACTOR_BLOCKED,
            outcome="failure",
            user_id=user.id,
            method=method,
            details={"failures": user.factor_failures},
        )
        return Throttled("factor_blocked", retry_after=3600)
    if user.factor_failures % knobs.lockout_threshold == 0:
        last_end = user.factor_locked_until
        if last_end is not None and now - last_end > LOCK_LEVEL_DECAY:
            user.factor_lockouts = 0
        user.factor_lockouts += 1
        seconds = min(
            knobs.lockout_seconds * 2 ** (user.factor_lockouts - 1), knobs.lockout_max_seconds
        )
        user.factor_locked_until = now + timedelta(seconds=seconds)
        record(
            session,
            ctx,
            Event.FACTOR_LOCKED,
            outcome="failure",
            user_id=user.id,
            method=method,
            details={"failures": user.factor_failures, "seconds": seconds},
        )
        return Throttled("factor_locked", retry_after=seconds)
    return None


def register_success(user: User) -> None:
    user.factor_failures = 0


def unlock(session: Session, ctx: Context, user: User) -> None:
    user.factor_failures = 0
    user.factor_lockouts = 0
    user.factor_locked_until = None
    user.factor_blocked = False
    record(session, ctx, Event.FACTOR_UNLOCKED, user_id=user.id)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))
