"""The statements of housekeeping: delete what has expired, one table at a time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_
from sqlalchemy.orm import Session

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


def prune(  # noqa: PLR0913 - keyword-only, one cutoff per kind of row
    session: Session,
    *,
    now: datetime,
    oldest_session: datetime,
    idle_session: datetime,
    counters_before: datetime,
    name_locks_before: datetime,
    blocked_name_locks_before: datetime,
    oidc_before: datetime,
) -> dict[str, int]:
    """Delete every expired row; returns how many went, per kind (in this order)."""
    statements = {
        "signins": delete(SignIn).where(SignIn.expires_at <= now),
        "sessions": delete(WebSession).where(
            (WebSession.created_at <= oldest_session) | (WebSession.last_seen_at <= idle_session)
        ),
        "devices": delete(RememberedDevice).where(RememberedDevice.expires_at <= now),
        "rate_counters": delete(RateCounter).where(RateCounter.window_start <= counters_before),
        "name_locks": delete(NameLock).where(
            or_(
                and_(
                    NameLock.blocked.is_(False),
                    NameLock.updated_at <= name_locks_before,
                    or_(
                        NameLock.locked_until.is_(None),
                        NameLock.locked_until <= name_locks_before,
                    ),
                ),
                and_(NameLock.blocked.is_(True), NameLock.updated_at <= blocked_name_locks_before),
            )
        ),
        "oidc_requests": delete(OidcRequest).where(OidcRequest.expires_at <= now),
        "oidc_tokens": delete(OidcToken).where(OidcToken.expires_at <= oidc_before),
        "oidc_grants": delete(OidcGrant).where(OidcGrant.expires_at <= oidc_before),
    }
    return {
        name: int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
        for name, statement in statements.items()
    }
