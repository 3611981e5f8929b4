"""Sign-ins in progress: the row a browser's sign-in token names, from the password step to
the session it opens."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from portvakt.domain import SignInStage, SignInState
from portvakt.store.models import SignIn
from portvakt.store.prepared import Prepared

_table = cast(Table, SignIn.__table__)

# Built once: every second-factor step runs both (on the DBAPI cursor, no ORM objects).
_LOCK = Prepared(
    select(_table.c.id)
    .where(
        _table.c.id == bindparam("signin_id"),
        _table.c.stage == bindparam("stage"),
        _table.c.expires_at > bindparam("now"),
    )
    .with_for_update()
)
_FINISH = Prepared(
    delete(_table).where(
        _table.c.id == bindparam("signin_id"), _table.c.expires_at > bindparam("now")
    )
)


def add(  # noqa: PLR0913 - keyword-only, one per column
    s: Session,
    *,
    signin_id: str,
    user_id: int,
    door: str,
    stage: SignInStage,
    created_at: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> None:
    s.add(
        SignIn(
            id=signin_id,
            user_id=user_id,
            door=door,
            stage=stage.value,
            created_at=created_at,
            expires_at=expires_at,
            ip=ip,
            user_agent=user_agent,
        )
    )


def get(s: Session, signin_id: str) -> SignInState | None:
    row = s.get(SignIn, signin_id)
    if row is None:
        return None
    return SignInState(
        id=row.id,
        user_id=row.user_id,
        stage=SignInStage(row.stage),
        created_at=row.created_at,
        expires_at=row.expires_at,
        pending_credential_id=row.pending_credential_id,
    )


def lock(s: Session, signin_id: str, stage: SignInStage, now: datetime) -> bool:
    """Lock the row of a sign-in still at ``stage`` and unexpired; False when it is not."""
    params = {"signin_id": signin_id, "stage": stage.value, "now": now}
    return _LOCK.first(s, params) is not None


def finish(s: Session, signin_id: str, now: datetime) -> bool:
    """Delete an unexpired sign-in (compare-and-set: exactly one finisher gets True)."""
    return _FINISH.execute(s, {"signin_id": signin_id, "now": now}) == 1


def remove(s: Session, signin_id: str) -> None:
    s.execute(delete(_table).where(_table.c.id == signin_id))


def set_pending_credential(s: Session, signin_id: str, credential_id: int) -> None:
    """The credential being added during this sign-in's activation."""
    s.execute(
        update(SignIn)
        .where(SignIn.id == signin_id)
        .values(pending_credential_id=credential_id)
        .execution_options(synchronize_session=False)
    )
