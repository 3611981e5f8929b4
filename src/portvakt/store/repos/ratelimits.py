"""Fixed-window counters (``rate_counter``): the counting upsert and the read run on every
failed or checked code, so they go through ``Prepared`` (ADR 0005)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

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


def count(session: Session, key: str, *, now: datetime, stale: datetime) -> int:
    """Count one event under ``key`` (a window started before ``stale`` starts again at
    ``now``); returns the count in the current window (one atomic upsert)."""
    statement = _HIT["postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"]
    return int(statement.scalar(session, {"key": key, "now": now, "stale": stale}))


def counter(session: Session, key: str) -> tuple[int, datetime] | None:
    """(count, window start) under ``key``, as stored; None when there is none."""
    row = _CURRENT.first(session, {"key": key})
    return None if row is None else (int(row[0]), row[1])


def remove(session: Session, key: str) -> None:
    session.execute(delete(RateCounter).where(RateCounter.key == key))
