from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portvakt.domain import CredentialState, CredentialView
from portvakt.store.models import Credential


def to_view(row: Credential, secret: bytes | None = None) -> CredentialView:
    return CredentialView(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        label=row.label,
        state=CredentialState(row.state),
        is_default=row.is_default,
        params=dict(row.params or {}),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        counter=row.counter,
        secret=secret,
    )


def for_user(session: Session, user_id: int, *, active_only: bool = False) -> list[Credential]:
    query = select(Credential).where(Credential.user_id == user_id)
    if active_only:
        query = query.where(Credential.state == CredentialState.ACTIVE)
    return list(session.scalars(query.order_by(Credential.created_at, Credential.id)))


def get(session: Session, user_id: int, credential_id: int) -> Credential | None:
    query = select(Credential).where(Credential.id == credential_id, Credential.user_id == user_id)
    return session.scalars(query).first()


def advance_counter(session: Session, credential_id: int, counter: int, now: datetime) -> bool:
    """Compare-and-set the replay state (OTP-04): succeeds only if ``counter`` moves forward,
    so two concurrent checks of the same code can never both pass."""
    result = session.execute(
        update(Credential)
        .where(
            Credential.id == credential_id,
            (Credential.counter.is_(None)) | (Credential.counter < counter),
        )
        .values(counter=counter, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1  # type: ignore[attr-defined]
