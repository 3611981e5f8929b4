"""Operator use-cases on people (CLI today, helpdesk console later). Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import sessions, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.crypto import hashing
from portvakt.directory.base import normalise_phone, normalise_username
from portvakt.domain import UserAccount, UserRef
from portvakt.errors import Conflict, Invalid, NotFound
from portvakt.store.errors import Duplicate
from portvakt.store.repos import audit, credentials, users

MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_DISPLAY_NAME = 200
MAX_EMAIL = 320


@dataclass(frozen=True, slots=True)
class UserDetails:
    user: UserRef
    methods: int
    factor_failures: int
    factor_locked_until: datetime | None
    factor_blocked: bool
    has_password: bool


def check_password_policy(password: str) -> None:
    """NIST SP 800-63B: length only (8 within MFA), no composition rules, no truncation."""
    if len(password) < MIN_PASSWORD:
        raise Invalid("password_too_short")
    if len(password) > MAX_PASSWORD:
        raise Invalid("password_too_long")


def check_profile(display_name: str | None, email: str | None) -> None:
    if display_name is not None and (
        len(display_name) > MAX_DISPLAY_NAME or not display_name.isprintable()
    ):
        raise Invalid("invalid_display_name")
    if email is not None and (
        len(email) > MAX_EMAIL or "@" not in email or " " in email or not email.isprintable()
    ):
        raise Invalid("invalid_email")


def add(  # noqa: PLR0913 - keyword-only, one per profile field
    core: Core,
    ctx: Context,
    *,
    username: str,
    password: str | None,
    display_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> UserRef:
    """A new person; ``phone`` (E.164, ``+4712345678``) is one an operator registers for them,
    offered when they add text-message codes and confirmed by a code then."""
    name = normalise_username(username)
    check_profile(display_name, email)
    phone = normalise_phone(phone) if phone else None
    password_hash = None
    if password is not None:
        check_password_policy(password)
        password_hash = hashing.hash_password(password)
    try:
        with core.store.write() as s:
            if users.by_username(s, name) is not None:
                raise Conflict("user_exists")
            user = users.create(
                s,
                username=name,
                display_name=display_name or name,
                email=email,
                phone=phone,
                password_hash=password_hash,
                created_at=ctx.now(),
                password_changed_at=ctx.now() if password_hash else None,
            )
            record(s, ctx, Event.USER_CREATED, user_id=user.id)
            return user
    except Duplicate as exc:
        raise Conflict("user_exists") from exc


def find(core: Core, username: str) -> UserRef:
    with core.store.read() as s:
        return _get(s, username).user


def details(core: Core, username: str) -> UserDetails:
    with core.store.read() as s:
        account = _get(s, username)
        active = credentials.for_user(s, account.user.id, active_only=True)
        return UserDetails(
            user=account.user,
            # a temporary access pass is no method of the person's own
            methods=sum(1 for c in active if not _issued(core, c.kind)),
            factor_failures=account.lock.failures,
            factor_locked_until=account.lock.locked_until,
            factor_blocked=account.lock.blocked,
            has_password=account.has_password,
        )


def listing(core: Core, *, limit: int = 1000, offset: int = 0) -> list[UserRef]:
    with core.store.read() as s:
        return users.listing(s, limit=limit, offset=offset)


def set_disabled(core: Core, ctx: Context, username: str, *, disabled: bool) -> None:
    with core.store.write() as s:
        user = _get(s, username).user
        users.set_disabled(s, user.id, disabled=disabled)
        if disabled:
            sessions.revoke_all(s, user.id, ctx)
        record(s, ctx, Event.USER_DISABLED if disabled else Event.USER_ENABLED, user_id=user.id)


def set_password(core: Core, ctx: Context, username: str, password: str) -> None:
    """New password; every session and remembered device of the person ends."""
    check_password_policy(password)
    new_hash = hashing.hash_password(password)
    with core.store.write() as s:
        user = _get(s, username).user
        users.set_password_hash(s, user.id, new_hash, changed_at=ctx.now())
        sessions.revoke_all(s, user.id, ctx)
        record(s, ctx, Event.PASSWORD_CHANGED, user_id=user.id)


def delete(core: Core, ctx: Context, username: str) -> None:
    with core.store.write() as s:
        user = _get(s, username).user
        record(s, ctx, Event.USER_DELETED, details={"user_id": user.id})
        users.remove(s, user.id)


def unlock(core: Core, ctx: Context, username: str) -> None:
    with core.store.write() as s:
        throttle.unlock(s, ctx, _get(s, username).user.id)


def audit_trail(core: Core, username: str, limit: int = 100) -> list[dict[str, object]]:
    with core.store.read() as s:
        user = _get(s, username).user
        return [
            {
                "at": e.at.isoformat(),
                "event": e.event,
                "outcome": e.outcome,
                "door": e.door,
                "ip": e.ip,
                "method": e.method,
                "actor": e.actor,
            }
            for e in audit.for_user(s, user.id, limit)
        ]


def _issued(core: Core, kind: str) -> bool:
    return kind in core.registry and core.registry.get(kind).capabilities.issued_by_operator


def _get(s: Session, username: str) -> UserAccount:
    try:
        name = normalise_username(username)
    except Invalid as exc:
        raise NotFound("user_not_found") from exc
    account = users.account_by_username(s, name)
    if account is None:
        raise NotFound("user_not_found")
    return account
