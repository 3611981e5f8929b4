"""Housekeeping: delete what has expired (sign-ins in progress, sessions past their absolute
limit, remembered devices, stale rate counters and name locks, OpenID Connect requests, grants
and tokens) and rotate the ID-token signing keys when due. Safe to run on every instance at
once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, delete, or_

from portvakt.context import Context
from portvakt.core import namelock
from portvakt.core.base import Core
from portvakt.core.oidc import keys
from portvakt.store.models import (
    NameLock,
    OidcGrant,
    OidcRequest,
    OidcToken,
    RateCounter,
    RememberedDevice,
    SignIn,
    WebSession,
)

RATE_COUNTER_KEEP = timedelta(days=1)


def prune(core: Core, ctx: Context) -> dict[str, int]:
    now = ctx.now()
    settings = ctx.settings
    oldest_session = now - timedelta(hours=settings.session_absolute_hours)
    idle_session = now - timedelta(minutes=settings.session_idle_minutes)
    statements = {
        "signins": delete(SignIn).where(SignIn.expires_at <= now),
        "sessions": delete(WebSession).where(
            (WebSession.created_at <= oldest_session) | (WebSession.last_seen_at <= idle_session)
        ),
        "devices": delete(RememberedDevice).where(RememberedDevice.expires_at <= now),
        "rate_counters": delete(RateCounter).where(
            RateCounter.window_start <= now - RATE_COUNTER_KEEP
        ),
        "name_locks": delete(NameLock).where(
            or_(
                and_(
                    NameLock.blocked.is_(False),
                    NameLock.updated_at <= now - namelock.KEEP,
                    or_(
                        NameLock.locked_until.is_(None),
                        NameLock.locked_until <= now - namelock.KEEP,
                    ),
                ),
                and_(NameLock.blocked.is_(True), NameLock.updated_at <= now - namelock.BLOCK_KEEP),
            )
        ),
        "oidc_requests": delete(OidcRequest).where(OidcRequest.expires_at <= now),
        # a day's grace keeps reuse detection working for codes and refresh tokens just expired
        "oidc_tokens": delete(OidcToken).where(OidcToken.expires_at <= now - RATE_COUNTER_KEEP),
        "oidc_grants": delete(OidcGrant).where(OidcGrant.expires_at <= now - RATE_COUNTER_KEEP),
    }
    counts: dict[str, int] = {}
    with core.store.write() as s:
        for name, statement in statements.items():
            counts[name] = int(s.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
    counts["oidc_keys"] = keys.maintain(core, ctx)
    return counts
