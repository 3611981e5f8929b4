"""The hardware-token inventory (``hardware_token``): query functions, no business rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portvakt.store.errors import Duplicate
from portvakt.store.models import Credential, HardwareToken, User


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: int
    kind: str
    serial: str
    params: dict[str, Any]
    counter: int | None
    imported_at: datetime
    credential_id: int | None
    user_id: int | None  # the person holding it (through its credential)
    username: str | None
    key_id: str = field(repr=False, default="")
    sealed: bytes = field(repr=False, default=b"")


@dataclass(frozen=True, slots=True)
class NewToken:
    kind: str
    serial: str
    params: Mapping[str, Any]
    counter: int | None
    key_id: str = field(repr=False)
    sealed: bytes = field(repr=False)


def _query() -> Any:
    return (
        select(HardwareToken, Credential.user_id, User.username)
        .outerjoin(Credential, Credential.id == HardwareToken.credential_id)
        .outerjoin(User, User.id == Credential.user_id)
    )


def _view(row: HardwareToken, user_id: int | None, username: str | None) -> StoredToken:
    return StoredToken(
        id=row.id,
        kind=row.kind,
        serial=row.serial,
        params=dict(row.params or {}),
        counter=row.counter,
        imported_at=row.imported_at,
        credential_id=row.credential_id,
        user_id=user_id,
        username=username,
        key_id=row.key_id,
        sealed=row.secret,
    )


def listing(session: Session, *, kind: str | None = None) -> list[StoredToken]:
    query = _query().order_by(HardwareToken.kind, HardwareToken.serial)
    if kind is not None:
        query = query.where(HardwareToken.kind == kind)
    return [_view(*row) for row in session.execute(query)]


def by_serial(session: Session, serial: str, *, for_update: bool = False) -> StoredToken | None:
    query = _query().where(HardwareToken.serial == serial)
    if for_update:
        query = query.with_for_update(of=HardwareToken)
    found = session.execute(query).first()
    return _view(*found) if found is not None else None


def existing_serials(session: Session, serials: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(serials), 500):
        chunk = list(serials[start : start + 500])
        query = select(HardwareToken.serial).where(HardwareToken.serial.in_(chunk))
        found.update(session.scalars(query))
    return found


def add_all(session: Session, tokens: Sequence[NewToken], imported_at: datetime) -> None:
    """Store new tokens; ``Duplicate`` when a serial is taken (perhaps concurrently)."""
    session.add_all(
        HardwareToken(
            kind=t.kind,
            serial=t.serial,
            key_id=t.key_id,
            secret=t.sealed,
            params=dict(t.params),
            counter=t.counter,
            imported_at=imported_at,
        )
        for t in tokens
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise Duplicate("hardware_token") from exc


def link(session: Session, token_id: int, credential_id: int | None, **state: Any) -> None:
    """Bind the token to a credential (or none) and store its replay ``counter`` and
    ``params`` when given."""
    row = session.get(HardwareToken, token_id)
    if row is None:
        return
    row.credential_id = credential_id
    if "counter" in state:
        row.counter = state["counter"]
    if "params" in state:
        row.params = dict(state["params"])
    session.flush()


def remove(session: Session, token_id: int) -> None:
    row = session.get(HardwareToken, token_id)
    if row is not None:
        session.delete(row)
        session.flush()
