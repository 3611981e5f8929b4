"""Fixed-window counters in the database, shared by every instance and door (RL-03, RL-05)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portvakt.errors import Throttled
from portvakt.store.repos import ratelimits


def hit(session: Session, key: str, *, now: datetime, window: int) -> int:
    """Count one event under ``key``; returns the count in the current window (atomic upsert)."""
    return ratelimits.count(session, key, now=now, stale=now - timedelta(seconds=window))


def current(session: Session, key: str, *, now: datetime, window: int) -> tuple[int, datetime]:
    """(count, window start) without counting; zero when the window has passed."""
    found = ratelimits.counter(session, key)
    if found is None or found[1] < now - timedelta(seconds=window):
        return 0, now
    return found


def ensure_below(session: Session, key: str, *, limit: int, now: datetime, window: int) -> None:
    count, started = current(session, key, now=now, window=window)
    check_below((count, started), limit=limit, now=now, window=window)


def check_below(
    counter: tuple[int, datetime] | None, *, limit: int, now: datetime, window: int
) -> None:
    """``ensure_below`` for a counter already read ((count, window start), or None)."""
    if counter is None:
        return
    count, started = counter
    if started < now - timedelta(seconds=window):
        return
    if count >= limit:
        retry = int((started + timedelta(seconds=window) - now).total_seconds())
        raise Throttled("rate_limited", retry_after=retry)


def reset(session: Session, key: str) -> None:
    ratelimits.remove(session, key)
