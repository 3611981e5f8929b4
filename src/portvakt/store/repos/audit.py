from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from portvakt.domain import AuditEntry
from portvakt.store.models import AuditEvent

_INSERT = insert(cast(Table, AuditEvent.__table__))


def add(session: Session, **row: Any) -> None:
    """Append one event now, as a Core ``INSERT`` (no ORM unit of work: every code check
    writes one, so this is on the hot path). ``row`` holds ``AuditEvent``'s columns."""
    session.execute(_INSERT, row)


def recent_for_user(
    session: Session, user_id: int, events: tuple[str, ...], limit: int = 20
) -> list[AuditEntry]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id, AuditEvent.event.in_(events))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        AuditEntry(
            at=row.at,
            event=row.event,
            outcome=row.outcome,
            ip=row.ip,
            user_agent=row.user_agent,
            method=row.method,
            details=dict(row.details or {}),
        )
        for row in session.scalars(query)
    ]


def for_user(session: Session, user_id: int, limit: int = 100) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
