"""Audit events: one row per security-relevant action (LOG-01). Never pass secrets here."""

from __future__ import annotations

import enum
import logging
from typing import Any

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.store.repos import audit

log = logging.getLogger("portvakt.audit")


class Event(enum.StrEnum):
    SIGNIN_PASSWORD_FAILED = "signin.password_failed"
    SIGNIN_PASSWORD_OK = "signin.password_ok"
    SIGNIN_PASSWORDLESS = "signin.passwordless"  # a passkey stood for password and factor
    SIGNIN_SUCCEEDED = "signin.succeeded"
    SIGNIN_THROTTLED = "signin.throttled"
    FACTOR_FAILED = "factor.failed"
    FACTOR_REPLAY = "factor.replay"
    FACTOR_LOCKED = "factor.locked"
    FACTOR_BLOCKED = "factor.blocked"
    FACTOR_UNLOCKED = "factor.unlocked"
    STEP_UP = "signin.step_up"
    PUSH_SENT = "push.sent"
    PUSH_APPROVED = "push.approved"
    PUSH_DENIED = "push.denied"
    PUSH_FRAUD = "push.fraud_reported"
    PUSH_REFUSED = "push.refused"
    PUSH_DEVICE_REGISTERED = "push.device_registered"
    ENROLLMENT_SKIPPED = "enrollment.skipped"
    METHOD_ADDED = "method.added"
    METHOD_RENAMED = "method.renamed"
    METHOD_DEFAULT = "method.default_changed"
    METHOD_REMOVED = "method.removed"
    METHODS_RESET = "method.reset"
    METHOD_ISSUED = "method.issued"  # an operator issued a credential (a temporary access pass)
    DEVICE_REMEMBERED = "device.remembered"
    DEVICE_REVOKED = "device.revoked"
    SIGNOUT = "session.signout"
    SIGNOUT_EVERYWHERE = "session.signout_everywhere"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_DELETED = "user.deleted"
    USER_IMPORTED = "user.imported"
    PASSWORD_CHANGED = "user.password_changed"
    INTEGRATION_ADDED = "integration.added"
    INTEGRATION_DELETED = "integration.deleted"
    INTEGRATION_CHANGED = "integration.changed"
    VALIDATE_ACCEPTED = "validate.accepted"
    VALIDATE_REJECTED = "validate.rejected"
    CLIENT_ADDED = "oidc.client_added"
    CLIENT_DELETED = "oidc.client_deleted"
    CLIENT_SECRET_ROTATED = "oidc.client_secret_rotated"
    CLIENT_AUTH_FAILED = "oidc.client_auth_failed"
    OIDC_AUTHORIZED = "oidc.authorized"
    OIDC_REFUSED = "oidc.refused"
    OIDC_TOKENS_ISSUED = "oidc.tokens_issued"
    OIDC_CODE_REUSED = "oidc.code_reused"
    OIDC_REFRESH_REUSED = "oidc.refresh_token_reused"
    OIDC_REVOKED = "oidc.revoked"
    OIDC_KEY_ROTATED = "oidc.key_rotated"
    TOKENS_IMPORTED = "token.imported"
    TOKEN_ASSIGNED = "token.assigned"
    TOKEN_UNASSIGNED = "token.unassigned"
    TOKEN_DELETED = "token.deleted"
    TOKEN_CLAIMED = "token.claimed"
    TOKEN_CLAIM_FAILED = "token.claim_failed"
    TOKEN_RESYNCED = "token.resynced"


SIGNIN_EVENTS = (
    Event.SIGNIN_SUCCEEDED.value,
    Event.SIGNIN_PASSWORD_FAILED.value,
    Event.FACTOR_FAILED.value,
    Event.FACTOR_REPLAY.value,
    Event.FACTOR_LOCKED.value,
    Event.FACTOR_BLOCKED.value,
    Event.PUSH_DENIED.value,
    Event.PUSH_FRAUD.value,
)


def record(  # noqa: PLR0913 - keyword-only audit fields, one per column
    session: Session,
    ctx: Context,
    event: Event | str,
    *,
    outcome: str = "success",
    user_id: int | None = None,
    method: str | None = None,
    credential_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    audit.add(
        session,
        at=ctx.now(),
        event=str(event),
        outcome=outcome,
        user_id=user_id,
        actor=ctx.actor,
        door=ctx.door.value,
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:300] or None,
        method=method,
        credential_id=credential_id,
        details=details or {},
    )
    log.info(
        "audit %s outcome=%s user_id=%s door=%s ip=%s",
        str(event),
        outcome,
        user_id,
        ctx.door.value,
        ctx.ip,
    )
