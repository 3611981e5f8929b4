from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from portvakt.domain import AuditEntry
from portvakt.store.models import AuditEvent
from portvakt.store.prepared import Prepared

_table = cast(Table, AuditEvent.__table__)
# Every column but the id, so no Python-side default is due (``Prepared`` runs none); inline,
# so PostgreSQL is not asked to return the new id nobody reads.
_INSERT = Prepared(
    insert(_table)
    .values({column.key: bindparam(column.key) for column in _table.c if column.key != "id"})
    .inline()
)


def add(session: Session, **row: Any) -> None:
    """Append one event now, as one ``INSERT`` on the DBAPI cursor (no ORM unit of work, no
    per-call Core machinery: every code check writes one, so this is on the hot path).
    ``row`` holds every one of ``AuditEvent``'s columns but ``id``."""
    _INSERT.execute(session, row)


def recent_for_user(
    session: Session, user_id: int, events: tuple[str, ...], limit: int = 20
) -> list[AuditEntry]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id, AuditEvent.event.in_(events))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [_entry(row) for row in session.scalars(query)]


def _entry(row: AuditEvent) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        event=row.event,
        outcome=row.outcome,
        ip=row.ip,
        user_agent=row.user_agent,
        method=row.method,
        details=dict(row.details or {}),
        door=row.door,
        actor=row.actor,
    )


def for_user(session: Session, user_id: int, limit: int = 100) -> list[AuditEntry]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [_entry(row) for row in session.scalars(query)]
