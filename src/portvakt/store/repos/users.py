from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portvakt.domain import UserRef
from portvakt.store.models import User


def to_ref(row: User) -> UserRef:
    return UserRef(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        phone=row.phone,
        disabled=row.disabled,
        created_at=row.created_at,
    )


def by_username(session: Session, username: str, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.username == username)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def by_id(session: Session, user_id: int, *, for_update: bool = False) -> User | None:
    query = select(User).where(User.id == user_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def listing(session: Session, *, limit: int = 1000, offset: int = 0) -> list[User]:
    query = select(User).order_by(User.username).limit(limit).offset(offset)
    return list(session.scalars(query))


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def existing_usernames(session: Session, names: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        found.update(session.scalars(select(User.username).where(User.username.in_(chunk))))
    return found


def password_hash_samples(session: Session) -> list[str]:
    """One stored password hash per leading seven characters (scheme and, for bcrypt, cost):
    enough to tell which hash schemes are present, whatever the number of people."""
    head = func.substr(User.password_hash, 1, 7)
    query = select(func.max(User.password_hash)).where(User.password_hash.is_not(None))
    return [row for row in session.scalars(query.group_by(head)) if row]
