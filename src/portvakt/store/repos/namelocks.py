"""The second-factor lock state of names that are not a live person (``NameLock``), by the
keyed hash of the name. A code check for such a name takes its row as a person's check takes
the user row: created when missing and locked (``FOR UPDATE``) by one upsert, so concurrent
checks for one name count every failure on PostgreSQL too; SQLite's writers are serialised."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portvakt.domain import FactorLock
from portvakt.store.models import NameLock
from portvakt.store.prepared import Prepared, Row

_table = cast(Table, NameLock.__table__)
_STATE = (_table.c.failures, _table.c.lockouts, _table.c.locked_until, _table.c.blocked)


def _touch(insert: Any) -> Any:
    """Create the row when missing, lock it, and return its state (one statement)."""
    statement = insert(_table).values(
        name_hash=bindparam("name_hash"),
        failures=0,
        lockouts=0,
        locked_until=None,
        blocked=False,
        updated_at=bindparam("now", type_=_table.c.updated_at.type),
    )
    return statement.on_conflict_do_update(
        index_elements=[_table.c.name_hash],
        set_={"updated_at": statement.excluded.updated_at},
    ).returning(*_STATE)


_TOUCH = {"postgresql": Prepared(_touch(pg_insert)), "sqlite": Prepared(_touch(sqlite_insert))}
_GET = Prepared(select(*_STATE).where(_table.c.name_hash == bindparam("name_hash")))
_SAVE = Prepared(
    update(_table)
    .where(_table.c.name_hash == bindparam("name_hash"))
    .values(
        failures=bindparam("failures"),
        lockouts=bindparam("lockouts"),
        locked_until=bindparam("locked_until"),
        blocked=bindparam("blocked"),
        updated_at=bindparam("now"),
    )
)


def _lock(row: Row | None) -> FactorLock:
    if row is None:
        return FactorLock()
    failures, lockouts, locked_until, blocked = row
    return FactorLock(failures, lockouts, locked_until, bool(blocked))


def take(session: Session, name_hash: str, *, now: datetime) -> FactorLock:
    """The name's lock state, its row created if missing and locked until the transaction
    ends."""
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    return _lock(_TOUCH[dialect].first(session, {"name_hash": name_hash, "now": now}))


def get(session: Session, name_hash: str) -> FactorLock:
    """The name's lock state without taking it (a fresh state when there is no row)."""
    return _lock(_GET.first(session, {"name_hash": name_hash}))


def save(session: Session, name_hash: str, lock: FactorLock, *, now: datetime) -> None:
    _SAVE.execute(
        session,
        {
            "name_hash": name_hash,
            "failures": lock.failures,
            "lockouts": lock.lockouts,
            "locked_until": lock.locked_until,
            "blocked": lock.blocked,
            "now": now,
        },
    )
