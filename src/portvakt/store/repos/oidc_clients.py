"""Apps registered for OpenID Connect (``oidc_client``), as ``ClientRow`` values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portvakt.store.errors import Duplicate
from portvakt.store.models import OidcClient


@dataclass(frozen=True, slots=True)
class ClientRow:
    """Every ``oidc_client`` column, by its name."""

    id: int
    client_id: str
    name: str
    secret_hash: str | None
    redirect_uris: list[str]
    post_logout_uris: list[str]
    scopes: list[str]
    grants: list[str]
    required_level: str
    id_token_alg: str
    created_at: datetime
    secret_rotated_at: datetime | None
    allow_without_pkce: bool


def _row(r: OidcClient) -> ClientRow:
    return ClientRow(
        id=r.id,
        client_id=r.client_id,
        name=r.name,
        secret_hash=r.secret_hash,
        redirect_uris=list(r.redirect_uris),
        post_logout_uris=list(r.post_logout_uris),
        scopes=list(r.scopes),
        grants=list(r.grants),
        required_level=r.required_level,
        id_token_alg=r.id_token_alg,
        created_at=r.created_at,
        secret_rotated_at=r.secret_rotated_at,
        allow_without_pkce=bool(r.allow_without_pkce),
    )


def name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(OidcClient.id).where(OidcClient.name == name)) is not None


def add(session: Session, **columns: Any) -> ClientRow:
    """Register an app (``columns``: every column but ``id``, ``secret_rotated_at``);
    ``Duplicate`` when its name or client_id is taken (perhaps concurrently)."""
    row = OidcClient(**columns)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Duplicate("oidc_client") from exc
    return _row(row)


def listing(session: Session) -> list[ClientRow]:
    return [_row(r) for r in session.scalars(select(OidcClient).order_by(OidcClient.name))]


def by_name_or_client_id(session: Session, name_or_id: str) -> ClientRow | None:
    row = session.scalar(
        select(OidcClient).where(
            (OidcClient.name == name_or_id) | (OidcClient.client_id == name_or_id)
        )
    )
    return None if row is None else _row(row)


def by_client_id(session: Session, client_id: str) -> ClientRow | None:
    row = session.scalar(select(OidcClient).where(OidcClient.client_id == client_id))
    return None if row is None else _row(row)


def by_pk(session: Session, pk: int) -> ClientRow | None:
    row = session.get(OidcClient, pk)
    return None if row is None else _row(row)


def set_secret(session: Session, pk: int, secret_hash: str, *, at: datetime) -> ClientRow | None:
    """A new secret hash, rotated ``at``; the client as it is now (None: no such client)."""
    session.execute(
        update(OidcClient)
        .where(OidcClient.id == pk)
        .values(secret_hash=secret_hash, secret_rotated_at=at)
    )
    return by_pk(session, pk)


def remove(session: Session, pk: int) -> bool:
    """Delete the app (its grants and tokens go with it: ``ON DELETE CASCADE``); False when
    there was none."""
    result = session.execute(delete(OidcClient).where(OidcClient.id == pk))
    return bool(result.rowcount)  # type: ignore[attr-defined]
