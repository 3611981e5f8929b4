"""Remembered devices as the Security info page, step-up and the password budget see them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portvakt.domain import DeviceView
from portvakt.store.models import RememberedDevice, User


def active_for_user(session: Session, user_id: int, *, now: datetime) -> list[DeviceView]:
    """The person's devices not yet expired, newest first."""
    rows = session.scalars(
        select(RememberedDevice)
        .where(RememberedDevice.user_id == user_id, RememberedDevice.expires_at > now)
        .order_by(RememberedDevice.created_at.desc())
    )
    return [
        DeviceView(
            id=r.id,
            created_at=r.created_at,
            expires_at=r.expires_at,
            last_used_at=r.last_used_at,
            ip=r.ip,
            user_agent=r.user_agent,
        )
        for r in rows
    ]


def remove(session: Session, *, user_id: int, device_id: int) -> bool:
    """Forget one of the person's devices; False when there was no such device of theirs."""
    result = session.execute(
        delete(RememberedDevice).where(
            RememberedDevice.id == device_id, RememberedDevice.user_id == user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def by_token_hash(session: Session, digest: str) -> tuple[int, datetime, str] | None:
    """(device id, expiry, the owner's username) of the device with this token hash."""
    row = session.execute(
        select(RememberedDevice.id, RememberedDevice.expires_at, User.username)
        .join(User, User.id == RememberedDevice.user_id)
        .where(RememberedDevice.token_hash == digest)
    ).first()
    if row is None:
        return None
    return int(row.id), row.expires_at, row.username


def add(  # noqa: PLR0913 - keyword-only, one per column
    session: Session,
    *,
    user_id: int,
    token_hash: str,
    created_at: datetime,
    expires_at: datetime,
    ip: str | None,
    user_agent: str | None,
) -> None:
    session.add(
        RememberedDevice(
            user_id=user_id,
            token_hash=token_hash,
            created_at=created_at,
            expires_at=expires_at,
            ip=ip,
            user_agent=user_agent,
        )
    )


def use(session: Session, *, user_id: int, token_hash: str, now: datetime) -> bool:
    """Note a use of ``user_id``'s unexpired device with this token hash; False when there is
    no such device of theirs."""
    result = session.execute(
        update(RememberedDevice)
        .where(
            RememberedDevice.token_hash == token_hash,
            RememberedDevice.user_id == user_id,
            RememberedDevice.expires_at > now,
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def remove_all(session: Session, user_id: int) -> None:
    session.execute(delete(RememberedDevice).where(RememberedDevice.user_id == user_id))
