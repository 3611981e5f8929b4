"""Integrations (validate API clients) as stored, and the per-request trust reads of the
validate API (``Prepared``: ADR 0005)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portvakt.domain import IntegrationView
from portvakt.store.errors import Duplicate
from portvakt.store.models import Integration
from portvakt.store.prepared import Prepared


def _view(row: Integration) -> IntegrationView:
    return IntegrationView(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        trust_client_ip=bool(row.trust_client_ip),
    )


def name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(Integration.id).where(Integration.name == name)) is not None


def add(
    session: Session, *, name: str, key_hash: str, created_at: datetime, trust_client_ip: bool
) -> IntegrationView:
    """Store a new integration; ``Duplicate`` when the name is taken (perhaps concurrently)."""
    row = Integration(
        name=name, key_hash=key_hash, created_at=created_at, trust_client_ip=trust_client_ip
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Duplicate("integration") from exc
    return _view(row)


def listing(session: Session) -> list[IntegrationView]:
    return [_view(row) for row in session.scalars(select(Integration).order_by(Integration.name))]


def by_name(session: Session, name: str) -> IntegrationView | None:
    row = session.scalar(select(Integration).where(Integration.name == name))
    return None if row is None else _view(row)


def by_key_hash(session: Session, digest: str) -> IntegrationView | None:
    row = session.scalar(select(Integration).where(Integration.key_hash == digest))
    return None if row is None else _view(row)


def set_trust(session: Session, integration_id: int, *, trust_client_ip: bool) -> None:
    session.execute(
        update(Integration)
        .where(Integration.id == integration_id)
        .values(trust_client_ip=trust_client_ip)
    )


def remove(session: Session, integration_id: int) -> None:
    session.execute(delete(Integration).where(Integration.id == integration_id))


_table = cast(Table, Integration.__table__)
_TRUST_BY_KEY = Prepared(
    select(_table.c.trust_client_ip).where(
        _table.c.id == bindparam("integration_id"), _table.c.key_hash == bindparam("digest")
    )
)
_TRUST = Prepared(select(_table.c.trust_client_ip).where(_table.c.id == bindparam("id")))


def trust_of(session: Session, integration_id: int, digest: str) -> bool | None:
    """None when the integration no longer exists with this key, else whether it trusts the
    client_ip it sends."""
    row = _TRUST_BY_KEY.first(session, {"integration_id": integration_id, "digest": digest})
    return None if row is None else bool(row[0])


def trusts_client_ip(session: Session, integration_id: int) -> bool:
    return bool(_TRUST.scalar(session, {"id": integration_id}))
