"""The authorization endpoint's rows: requests parked while the person signs in
(``oidc_request``) and the grant a code is issued for (``oidc_grant``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from portvakt.store.models import OidcGrant, OidcRequest


@dataclass(frozen=True, slots=True)
class ParkedRequest:
    client_pk: int
    params: dict[str, Any]
    expires_at: datetime


def park(
    session: Session,
    request_id: str,
    *,
    client_pk: int,
    params: dict[str, Any],
    created_at: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        OidcRequest(
            id=request_id,
            client_pk=client_pk,
            params=params,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


def parked(session: Session, request_id: str) -> ParkedRequest | None:
    row = session.get(OidcRequest, request_id)
    if row is None:
        return None
    return ParkedRequest(
        client_pk=row.client_pk, params=dict(row.params), expires_at=row.expires_at
    )


def drop(session: Session, request_id: str) -> None:
    session.execute(delete(OidcRequest).where(OidcRequest.id == request_id))


def add_code_grant(session: Session, **columns: Any) -> None:
    """The grant an authorization code is issued for (``columns``: ``oidc_grant``'s, by name)."""
    session.add(OidcGrant(**columns))
