from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from portvakt.domain import CredentialState, CredentialView
from portvakt.store.models import Credential
from portvakt.store.prepared import Prepared


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


_table = cast(Table, Credential.__table__)
# Built once: a code check runs it on every success (on the DBAPI cursor, so no ORM session
# sync nor per-call Core machinery either).
_ADVANCE = Prepared(
    update(_table)
    .where(
        _table.c.id == bindparam("credential_id"),
        _table.c.counter.is_(None)
        | (_table.c.counter < bindparam("new_counter"))
        | (bindparam("zero_stays") & (_table.c.counter == 0) & (bindparam("new_counter") == 0)),
    )
    .values(counter=bindparam("new_counter"), last_used_at=bindparam("now"))
)


def advance_counter(
    session: Session, credential_id: int, counter: int, now: datetime, *, zero_stays: bool = False
) -> bool:
    """Compare-and-set the replay state (OTP-04): succeeds only if ``counter`` moves forward,
    so two concurrent checks of the same code can never both pass. With ``zero_stays`` (a
    WebAuthn sign count) a count of 0 that stays 0 is accepted too."""
    params = {
        "credential_id": credential_id,
        "new_counter": counter,
        "now": now,
        "zero_stays": zero_stays,
    }
    return _ADVANCE.execute(session, params) == 1
