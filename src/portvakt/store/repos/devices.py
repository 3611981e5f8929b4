"""Remembered devices as the Security info page, step-up and the password budget see them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
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
