from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portvakt.domain import FactorLock, UserAccount, UserRef
from portvakt.store.errors import Duplicate
from portvakt.store.models import User
from portvakt.store.repos import credentials


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


def _by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def by_username(session: Session, username: str) -> UserRef | None:
    row = _by_username(session, username)
    return to_ref(row) if row is not None else None


def by_id(session: Session, user_id: int) -> UserRef | None:
    row = session.get(User, user_id)
    return to_ref(row) if row is not None else None


def listing(session: Session, *, limit: int = 1000, offset: int = 0) -> list[UserRef]:
    query = select(User).order_by(User.username).limit(limit).offset(offset)
    return [to_ref(row) for row in session.scalars(query)]


def password_of(session: Session, username: str) -> tuple[UserRef, str | None] | None:
    """The person called ``username`` and their stored password hash (None: no password)."""
    row = _by_username(session, username)
    return (to_ref(row), row.password_hash) if row is not None else None


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


def account_by_username(session: Session, username: str) -> UserAccount | None:
    row = _by_username(session, username)
    return _account(row) if row is not None else None


def account_by_id(session: Session, user_id: int) -> UserAccount | None:
    row = session.get(User, user_id)
    return _account(row) if row is not None else None


def _account(row: User) -> UserAccount:
    return UserAccount(
        user=to_ref(row),
        lock=FactorLock(
            failures=row.factor_failures,
            lockouts=row.factor_lockouts,
            locked_until=row.factor_locked_until,
            blocked=row.factor_blocked,
        ),
        has_password=row.password_hash is not None,
    )


def create(  # noqa: PLR0913 - keyword-only, one per column
    session: Session,
    *,
    username: str,
    display_name: str,
    email: str | None,
    password_hash: str | None,
    created_at: datetime,
    password_changed_at: datetime | None,
    phone: str | None = None,
) -> UserRef:
    """Add a person; ``Duplicate`` when the username is taken (perhaps concurrently)."""
    row = User(
        username=username,
        display_name=display_name,
        email=email,
        phone=phone,
        password_hash=password_hash,
        created_at=created_at,
        password_changed_at=password_changed_at,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Duplicate("user_account") from exc
    return to_ref(row)


def set_disabled(session: Session, user_id: int, *, disabled: bool) -> None:
    session.execute(update(User).where(User.id == user_id).values(disabled=disabled))


def set_password_hash(
    session: Session, user_id: int, password_hash: str, *, changed_at: datetime
) -> None:
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, password_changed_at=changed_at)
    )


def rehash(session: Session, user_id: int, password_hash: str) -> None:
    """The same password under the current hash parameters (its change date stays)."""
    session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))


def remove(session: Session, user_id: int) -> None:
    """Delete the person; the database deletes what is theirs (``ON DELETE CASCADE``), after
    the hardware tokens they held take back their replay state."""
    credentials.give_back_tokens(session, credentials.of_person(user_id))
    session.execute(delete(User).where(User.id == user_id))


def subject_of(session: Session, user_id: int) -> str | None:
    """The person's OpenID Connect ``sub`` (None: no such person)."""
    return session.scalar(select(User.subject).where(User.id == user_id))
