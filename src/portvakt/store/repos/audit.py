from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portvakt.domain import AuditEntry
from portvakt.store.models import AuditEvent


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
