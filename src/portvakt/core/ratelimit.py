"""Fixed-window counters in the database, shared by every instance and door (RL-03, RL-05)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portvakt.errors import Throttled
from portvakt.store.models import RateCounter
from portvakt.store.prepared import Prepared

_table = cast(Table, RateCounter.__table__)


def _upsert(insert: Any) -> Any:
    """The counting statement for one dialect, built once (it runs on every failed code)."""
    stamp = _table.c.window_start.type
    now = bindparam("now", type_=stamp)
    outdated = _table.c.window_start < bindparam("stale", type_=stamp)
    return (
        insert(_table)
        .values(key=bindparam("key"), window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "count": case((outdated, 1), else_=_table.c.count + 1),
                "window_start": case((outdated, now), else_=_table.c.window_start),
            },
        )
        .returning(_table.c.count)
    )


_HIT = {"postgresql": Prepared(_upsert(pg_insert)), "sqlite": Prepared(_upsert(sqlite_insert))}
_CURRENT = Prepared(
    select(_table.c.count, _table.c.window_start).where(_table.c.key == bindparam("key"))
)


def hit(session: Session, key: str, *, now: datetime, window: int) -> int:
    """Count one event under ``key``; returns the count in the current window (atomic upsert)."""
    statement = _HIT["postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"]
    params = {"key": key, "now": now, "stale": now - timedelta(seconds=window)}
    return int(statement.scalar(session, params))


def current(session: Session, key: str, *, now: datetime, window: int) -> tuple[int, datetime]:
    """(count, window start) without counting; zero when the window has passed."""
    row = _CURRENT.first(session, {"key": key})
    if row is None or row[1] < now - timedelta(seconds=window):
        return 0, now
    return int(row[0]), row[1]


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
    session.execute(delete(RateCounter).where(RateCounter.key == key))
