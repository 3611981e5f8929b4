"""Housekeeping: delete what has expired (sign-ins in progress, sessions past their absolute
limit, remembered devices, stale rate counters and name locks, OpenID Connect requests, grants
and tokens) and rotate the ID-token signing keys when due. Safe to run on every instance at
once."""

from __future__ import annotations

from datetime import timedelta

from portvakt.context import Context
from portvakt.core import namelock
from portvakt.core.base import Core
from portvakt.core.oidc import keys
from portvakt.store.repos import maintenance

RATE_COUNTER_KEEP = timedelta(days=1)


def prune(core: Core, ctx: Context) -> dict[str, int]:
    now = ctx.now()
    settings = ctx.settings
    with core.store.write() as s:
        counts = maintenance.prune(
            s,
            now=now,
            oldest_session=now - timedelta(hours=settings.session_absolute_hours),
            idle_session=now - timedelta(minutes=settings.session_idle_minutes),
            counters_before=now - RATE_COUNTER_KEEP,
            name_locks_before=now - namelock.KEEP,
            blocked_name_locks_before=now - namelock.BLOCK_KEEP,
            # a day's grace keeps reuse detection working for codes and refresh tokens just expired
            oidc_before=now - RATE_COUNTER_KEEP,
        )
    counts["oidc_keys"] = keys.maintain(core, ctx)
    return counts
