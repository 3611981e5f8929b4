"""Browser sessions and remembered devices. Cookie values are 256-bit random tokens; only
their hashes are stored (SES-01), so a database leak does not leak sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.crypto import random
from portvakt.crypto.hashing import sha256_hex
from portvakt.domain import UserRef
from portvakt.methods.base import Grant
from portvakt.store.repos import devices, users, websessions

TOUCH_EVERY = timedelta(seconds=60)
# A session that may only add a method (a sign-in with a temporary access pass) ends this long
# after it began, whatever the absolute timeout: it is for one task.
RESTRICTED_FOR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SessionView:
    id: str
    user: UserRef
    created_at: datetime
    factor_at: datetime | None
    method: str | None
    remembered: bool
    scope: Grant = Grant.FULL
    password: bool = True  # the sign-in began with the password (not a passkey)

    @property
    def restricted(self) -> bool:
        """The session may only add a method (``Grant.ENROLLMENT``)."""
        return self.scope is not Grant.FULL


def create(  # noqa: PLR0913 - keyword-only: who, how, and what it may do
    session: Session,
    ctx: Context,
    *,
    user_id: int,
    method: str | None,
    factor: bool,
    remembered: bool = False,
    scope: Grant = Grant.FULL,
    password: bool = True,
) -> str:
    """Start a new session (always a new id: SES-02 rotation); returns the cookie value.
    ``scope``: what the way in grants (``Capabilities.grants``)."""
    token = random.token()
    now = ctx.now()
    row = websessions.SessionRow(
        id=sha256_hex(token),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        factor_at=now if factor else None,
        method=method,
        remembered=remembered,
        scope=scope.value,
        password=password,
    )
    websessions.add(session, row, ip=ctx.ip, user_agent=(ctx.user_agent or "")[:300] or None)
    return token


def load(core: Core, ctx: Context, token: str | None) -> SessionView | None:
    """The live session for a cookie value, enforcing idle and absolute timeouts server-side
    (SES-04). Expired sessions are deleted."""
    if not token or len(token) > 100:
        return None
    settings = ctx.settings
    now = ctx.now()
    with core.store.read() as s:
        row = websessions.get(s, sha256_hex(token))
        if row is None:
            return None
        user = users.by_id(s, row.user_id)
        idle = now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
        old = now - row.created_at > timedelta(hours=settings.session_absolute_hours)
        scope = Grant(row.scope) if row.scope in set(Grant) else Grant.ENROLLMENT
        if scope is not Grant.FULL:
            old = old or now - row.created_at > RESTRICTED_FOR
        view = None
        if user is not None and not user.disabled and not idle and not old:
            view = SessionView(
                id=row.id,
                user=user,
                created_at=row.created_at,
                factor_at=row.factor_at,
                method=row.method,
                remembered=row.remembered,
                scope=scope,
                password=row.password,
            )
        stale_touch = now - row.last_seen_at > TOUCH_EVERY
    if view is None:
        with core.store.write() as s:
            websessions.remove(s, sha256_hex(token))
        return None
    if stale_touch:
        with core.store.write() as s:
            websessions.touch(s, view.id, now)
    return view


def mark_factor(core: Core, ctx: Context, session_id: str, method: str) -> None:
    with core.store.write() as s:
        mark_factor_in(s, ctx, session_id, method)


def mark_factor_in(s: Session, ctx: Context, session_id: str, method: str) -> None:
    """A second factor was proven in this session just now (inside the caller's write)."""
    websessions.mark_factor(s, session_id, method=method, at=ctx.now())


def end(core: Core, ctx: Context, view: SessionView) -> None:
    """Sign this browser out; apps' tokens from this session's sign-ins stop working too."""
    with core.store.write() as s:
        websessions.remove(s, view.id)
        websessions.revoke_session_grants(s, view.id, ctx.now())
        record(s, ctx, Event.SIGNOUT, user_id=view.user.id)


def end_everywhere(core: Core, ctx: Context, user_id: int) -> None:
    """Sign out every browser and forget every remembered device of this person."""
    with core.store.write() as s:
        revoke_all(s, user_id, ctx)
        record(s, ctx, Event.SIGNOUT_EVERYWHERE, user_id=user_id)


def revoke_all(session: Session, user_id: int, ctx: Context) -> None:
    """End every session, remembered device and app grant (refresh tokens) of a person."""
    websessions.remove_all(session, user_id)
    devices.remove_all(session, user_id)
    websessions.revoke_user_grants(session, user_id, ctx.now())


def replace(core: Core, ctx: Context, old_token: str | None, new_token: str) -> None:
    """A new sign-in in the same browser replaces its session, and the old one ends. Apps'
    grants from it move to the new session only when the same person signed in again, so
    signing out later ends them too. Another person's grants end with their session, as
    ``end`` would end them, audited for that person."""
    if not old_token or len(old_token) > 100:
        return
    with core.store.write() as s:
        replace_in(s, ctx, old_token, new_token)


def replace_in(s: Session, ctx: Context, old_token: str | None, new_token: str) -> None:
    """``replace`` inside the transaction that opened the new session."""
    if not old_token or len(old_token) > 100:
        return
    old, new = sha256_hex(old_token), sha256_hex(new_token)
    if old == new:
        return
    previous = websessions.get(s, old)
    current = websessions.get(s, new)
    owner = current.user_id if current is not None else None
    websessions.remove(s, old)
    if owner is not None:
        websessions.move_grants(s, old, new, user_id=owner)
    others = websessions.live_grant_owners(s, old)
    websessions.revoke_session_grants(s, old, ctx.now())
    if previous is not None and previous.user_id != owner:
        others.setdefault(previous.user_id, 0)
    for user_id, count in others.items():
        details = {"reason": "another_signin", "grants_revoked": count}
        record(s, ctx, Event.SIGNOUT, user_id=user_id, details=details)


# -- remembered devices ------------------------------------------------------------------------


def remember_device(session: Session, ctx: Context, *, user_id: int, days: int) -> str:
    token = random.token()
    now = ctx.now()
    devices.add(
        session,
        user_id=user_id,
        token_hash=ctx.box.keyed_hash(token.encode(), purpose="device"),
        created_at=now,
        expires_at=now + timedelta(days=days),
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:300] or None,
    )
    record(session, ctx, Event.DEVICE_REMEMBERED, user_id=user_id, details={"days": days})
    return token


def device_is_remembered(
    session: Session, ctx: Context, *, user_id: int, token: str | None
) -> bool:
    if not token or len(token) > 100:
        return False
    digest = ctx.box.keyed_hash(token.encode(), purpose="device")
    return devices.use(session, user_id=user_id, token_hash=digest, now=ctx.now())
