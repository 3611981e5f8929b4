"""Server signing keys (sealed): the push key and the OpenID Connect keys, by purpose."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portvakt.store.errors import Duplicate
from portvakt.store.models import SigningKey


@dataclass(frozen=True, slots=True)
class KeyRow:
    kid: str
    alg: str
    created_at: datetime
    not_before: datetime
    expires_at: datetime | None
    public_jwk: dict[str, Any]
    key_id: str
    sealed: bytes


def _row(r: SigningKey) -> KeyRow:
    return KeyRow(
        kid=r.kid,
        alg=r.alg or "ES256",
        created_at=r.created_at,
        not_before=r.not_before or r.created_at,
        expires_at=r.expires_at,
        public_jwk=r.public_jwk,
        key_id=r.key_id,
        sealed=r.sealed,
    )


def by_purpose(session: Session, purpose: str) -> list[KeyRow]:
    """Every key of ``purpose``, in signing order (``not_before``, then ``kid``)."""
    query = (
        select(SigningKey)
        .where(SigningKey.purpose == purpose)
        .order_by(SigningKey.not_before, SigningKey.kid)
    )
    return [_row(r) for r in session.scalars(query)]


def first_active(session: Session, purpose: str) -> KeyRow | None:
    """The oldest active key of ``purpose`` (by ``created_at``, then ``kid``)."""
    row = session.scalars(
        select(SigningKey)
        .where(SigningKey.purpose == purpose, SigningKey.active.is_(True))
        .order_by(SigningKey.created_at, SigningKey.kid)
    ).first()
    return None if row is None else _row(row)


def add(  # noqa: PLR0913 - keyword-only, one per column
    session: Session,
    *,
    kid: str,
    purpose: str,
    key_id: str,
    sealed: bytes,
    public_jwk: dict[str, Any],
    created_at: datetime,
    alg: str | None = None,
    not_before: datetime | None = None,
) -> None:
    """Store a new active key; ``Duplicate`` when one with this ``kid`` exists."""
    session.add(
        SigningKey(
            kid=kid,
            purpose=purpose,
            key_id=key_id,
            sealed=sealed,
            public_jwk=public_jwk,
            created_at=created_at,
            active=True,
            alg=alg,
            not_before=not_before,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise Duplicate("signing_key") from exc


def withdraw(session: Session, kids: Collection[str], *, expires_at: datetime) -> None:
    """Supersede these keys: no longer active, dropped from the key set at ``expires_at``."""
    for row in session.scalars(select(SigningKey).where(SigningKey.kid.in_(list(kids)))):
        row.expires_at = expires_at
        row.active = False


def delete_expired(session: Session, purpose: str, *, before: datetime) -> int:
    """Delete the keys of ``purpose`` that left the key set before ``before``; how many."""
    gone = session.execute(
        delete(SigningKey).where(SigningKey.purpose == purpose, SigningKey.expires_at < before)
    )
    return int(getattr(gone, "rowcount", 0) or 0)
