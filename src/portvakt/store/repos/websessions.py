"""Signed-in browsers' sessions, and what ending or replacing one does to the OpenID Connect
grants (refresh tokens) issued in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from portvakt.store.models import OidcGrant, WebSession


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str  # the hash of the cookie value
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    factor_at: datetime | None
    method: str | None
    remembered: bool
    scope: str = "full"  # or "enrollment": the session may only add a method
    password: bool = True  # the sign-in began with the password (not a passkey)


def add(s: Session, row: SessionRow, *, ip: str | None, user_agent: str | None) -> None:
    s.add(
        WebSession(
            id=row.id,
            user_id=row.user_id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            factor_at=row.factor_at,
            method=row.method,
            remembered=row.remembered,
            scope=row.scope,
            password=row.password,
            ip=ip,
            user_agent=user_agent,
        )
    )


def get(s: Session, session_id: str) -> SessionRow | None:
    row = s.get(WebSession, session_id)
    if row is None:
        return None
    return SessionRow(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        factor_at=row.factor_at,
        method=row.method,
        remembered=row.remembered,
        scope=row.scope,
        password=row.password,
    )


def touch(s: Session, session_id: str, at: datetime) -> None:
    s.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(last_seen_at=at)
        .execution_options(synchronize_session=False)
    )


def remove(s: Session, session_id: str) -> None:
    s.execute(
        delete(WebSession)
        .where(WebSession.id == session_id)
        .execution_options(synchronize_session=False)
    )


def remove_all(s: Session, user_id: int) -> None:
    s.execute(delete(WebSession).where(WebSession.user_id == user_id))


def mark_factor(s: Session, session_id: str, *, method: str, at: datetime) -> None:
    """A second factor was proven in this session just now (step-up)."""
    s.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(factor_at=at, method=method)
        .execution_options(synchronize_session=False)
    )


# -- the apps' grants from a session -----------------------------------------------------------


def move_grants(s: Session, old: str, new: str, *, user_id: int) -> None:
    """``user_id``'s grants from session ``old`` now belong to session ``new``."""
    s.execute(
        update(OidcGrant)
        .where(OidcGrant.session_id == old, OidcGrant.user_id == user_id)
        .values(session_id=new)
        .execution_options(synchronize_session=False)
    )


def live_grant_owners(s: Session, session_id: str) -> dict[int | None, int]:
    """How many live grants session ``session_id`` holds, per person."""
    owners: dict[int | None, int] = {}
    live = select(OidcGrant.user_id).where(
        OidcGrant.session_id == session_id, OidcGrant.revoked_at.is_(None)
    )
    for user_id in s.scalars(live):
        owners[user_id] = owners.get(user_id, 0) + 1
    return owners


def revoke_session_grants(s: Session, session_id: str, now: datetime) -> None:
    _revoke(s, OidcGrant.session_id == session_id, now)


def revoke_user_grants(s: Session, user_id: int, now: datetime) -> None:
    _revoke(s, OidcGrant.user_id == user_id, now)


def _revoke(s: Session, where: ColumnElement[bool], now: datetime) -> None:
    s.execute(
        update(OidcGrant)
        .where(where, OidcGrant.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
