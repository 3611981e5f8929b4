"""Fixed-window counters in the database, shared by every instance and door (RL-03, RL-05)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portvakt.errors import Throttled
from portvakt.store.models import RateCounter


def hit(session: Session, key: str, *, now: datetime, window: int) -> int:
    """Count one event under ``key``; returns the count in the current window (atomic upsert)."""
    stale = now - timedelta(seconds=window)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    outdated = RateCounter.window_start < stale
    statement = (
        insert(RateCounter)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[RateCounter.key],
            set_={
                "count": case((outdated, 1), else_=RateCounter.count + 1),
                "window_start": case((outdated, now), else_=RateCounter.window_start),
            },
        )
        .returning(RateCounter.count)
    )
    return int(session.execute(statement).scalar_one())


def current(session: Session, key: str, *, now: datetime, window: int) -> tuple[int, datetime]:
    """(count, window start) without counting; zero when the window has passed."""
    row = session.execute(
        select(RateCounter.count, RateCounter.window_start).where(RateCounter.key == key)
    ).first()
    if row is None or row[1] < now - timedelta(seconds=window):
        return 0, now
    return int(row[0]), row[1]


def ensure_below(session: Session, key: str, *, limit: int, now: datetime, window: int) -> None:
    count, started = current(session, key, now=now, window=window)
    if count >= limit:
        retry = int((started + timedelta(seconds=window) - now).total_seconds())
        raise Throttled("rate_limited", retry_after=retry)


def reset(session: Session, key: str) -> None:
    session.execute(delete(RateCounter).where(RateCounter.key == key))
