"""What the Security info page shows, and step-up (a fresh second factor for sensitive changes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from portvakt.context import Context
from portvakt.core import sessions
from portvakt.core.audit import SIGNIN_EVENTS, Event, record
from portvakt.core.base import Core
from portvakt.core.factor import check_code
from portvakt.domain import AuditEntry, CredentialView, DeviceView
from portvakt.errors import Denied, NotFound
from portvakt.methods.base import Grant
from portvakt.store.repos import audit, credentials, devices


@dataclass(frozen=True, slots=True)
class SecurityInfo:
    methods: list[CredentialView]
    signins: list[AuditEntry]
    devices: list[DeviceView]


def security_info(core: Core, ctx: Context, *, user_id: int) -> SecurityInfo:
    with core.store.read() as s:
        methods = credentials.for_user(s, user_id, active_only=True)
        signins = audit.recent_for_user(s, user_id, SIGNIN_EVENTS, limit=20)
        found = devices.active_for_user(s, user_id, now=ctx.now())
    return SecurityInfo(methods=methods, signins=signins, devices=found)


def is_fresh(ctx: Context, view: sessions.SessionView, *, has_methods: bool) -> bool:
    """Step-up rule: a second factor within ``step_up_minutes``. Someone with no method yet
    cannot prove one, so a password sign-in within the same window counts instead."""
    limit = ctx.now() - timedelta(minutes=ctx.settings.step_up_minutes)
    if has_methods:
        return view.factor_at is not None and view.factor_at >= limit
    return view.created_at >= limit


def step_up(core: Core, ctx: Context, view: sessions.SessionView, *, kind: str, code: str) -> None:
    """Prove a second factor again inside a signed-in session."""
    typed = tuple(
        k
        for k in core.registry.code_kinds(ctx.door.value)
        if k in core.knobs.allowed_kinds and core.registry.grants(k) is Grant.FULL
    )
    kinds = typed if not kind else (kind,) if kind in typed else ()
    if not kinds:
        raise Denied("wrong_code")
    with core.store.write() as s:
        outcome = check_code(s, core, ctx, user_id=view.user.id, kinds=kinds, raw_code=code)
        if outcome.ok:
            kind = outcome.kind or kinds[0]
            record(s, ctx, Event.STEP_UP, user_id=view.user.id, method=kind)
            sessions.mark_factor_in(s, ctx, view.id, kind)
    if outcome.throttled is not None:
        raise outcome.throttled
    if not outcome.ok:
        raise Denied("wrong_code")


def revoke_device(core: Core, ctx: Context, *, user_id: int, device_id: int) -> None:
    with core.store.write() as s:
        if not devices.remove(s, user_id=user_id, device_id=device_id):
            raise NotFound("device_not_found")
        record(s, ctx, Event.DEVICE_REVOKED, user_id=user_id, details={"device_id": device_id})
