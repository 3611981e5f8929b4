"""Adding, confirming, renaming, defaulting and removing methods.

A new credential is ``pending`` until the person proves it works with one valid response
(OTP-08); the step used to confirm counts as used, so it cannot sign in again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import ratelimit, sessions
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_view, seal
from portvakt.domain import CredentialState
from portvakt.errors import Conflict, Denied, Invalid, NotFound, PortvaktError, Throttled
from portvakt.methods.base import FactorResponse
from portvakt.store.models import Credential
from portvakt.store.repos import credentials, users

MAX_LABEL = 64
CONFIRM_TRIES = 10


@dataclass(frozen=True, slots=True)
class PendingDisplay:
    credential_id: int
    kind: str
    label: str
    display: Mapping[str, Any]


def begin(core: Core, ctx: Context, *, user_id: int, kind: str, label: str = "") -> int:
    """Create a pending credential (replacing an older pending one of the same kind). An empty
    label means "show the name of the kind" in the reader's language."""
    with core.store.write() as s:
        return begin_in(s, core, ctx, user_id=user_id, kind=kind, label=label)


def begin_in(
    s: Session, core: Core, ctx: Context, *, user_id: int, kind: str, label: str = ""
) -> int:
    """``begin`` inside the caller's transaction."""
    if kind not in core.knobs.allowed_kinds or kind not in core.registry:
        raise Invalid("kind_not_allowed")
    method = core.registry.get(kind)
    if not method.capabilities.enrollable:
        raise Invalid("kind_not_allowed")
    user = users.by_id(s, user_id)
    if user is None:
        raise NotFound("user_not_found")
    s.execute(
        delete(Credential).where(
            Credential.user_id == user_id,
            Credential.kind == kind,
            Credential.state == CredentialState.PENDING.value,
        )
    )
    step = method.begin_enrollment(ctx, users.to_ref(user))
    row = Credential(
        user_id=user_id,
        kind=kind,
        label=clean_label(label) if label else "",
        state=CredentialState.PENDING.value,
        is_default=False,
        params=dict(step.params),
        created_at=ctx.now(),
    )
    if step.secret is not None:
        seal(ctx, row, step.secret)
    s.add(row)
    s.flush()
    return row.id


def pending_display(
    core: Core, ctx: Context, *, user_id: int, credential_id: int
) -> PendingDisplay:
    with core.store.read() as s:
        row = credentials.get(s, user_id, credential_id)
        user = users.by_id(s, user_id)
        if row is None or user is None or row.state != CredentialState.PENDING.value:
            raise NotFound("enrollment_not_found")
        view = open_view(ctx, row)
        display = core.registry.get(row.kind).enrollment_display(ctx, users.to_ref(user), view)
        return PendingDisplay(credential_id=row.id, kind=row.kind, label=row.label, display=display)


def confirm(core: Core, ctx: Context, *, user_id: int, credential_id: int, code: str) -> str:
    """Activate a pending credential with one valid response; returns its kind."""
    with core.store.write() as s:
        outcome = confirm_in(s, core, ctx, user_id=user_id, credential_id=credential_id, code=code)
    return outcome.kind_or_raise()


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What ``confirm_in`` found: the kind when it activated, else the refusal to raise after
    the transaction (raising inside would roll back the count of tries)."""

    kind: str | None
    refusal: PortvaktError | None = None

    def kind_or_raise(self) -> str:
        if self.kind is None:
            raise self.refusal or Denied("wrong_code")
        return self.kind


def confirm_in(
    s: Session, core: Core, ctx: Context, *, user_id: int, credential_id: int, code: str
) -> Confirmed:
    """``confirm`` inside the caller's transaction."""
    row = credentials.get(s, user_id, credential_id)
    if row is None or row.state != CredentialState.PENDING.value:
        return Confirmed(None, NotFound("enrollment_not_found"))
    tries = ratelimit.hit(s, f"enroll:{row.id}", now=ctx.now(), window=3600)
    if tries > CONFIRM_TRIES:
        return Confirmed(None, Throttled("enrollment_tries", retry_after=3600))
    method = core.registry.get(row.kind)
    cleaned = method.normalise_response(code)
    if cleaned is None:
        return Confirmed(None, Denied("wrong_code"))
    verdict = method.finish_enrollment(ctx, open_view(ctx, row), FactorResponse(code=cleaned))
    if not verdict.ok:
        return Confirmed(None, Denied("wrong_code"))
    has_default = any(c.is_default for c in credentials.for_user(s, user_id, active_only=True))
    row.state = CredentialState.ACTIVE.value
    row.counter = verdict.counter.value if verdict.counter else None
    if verdict.params is not None:
        row.params = dict(verdict.params)
    row.is_default = not has_default
    row.last_used_at = ctx.now()
    ratelimit.reset(s, f"enroll:{row.id}")
    record(s, ctx, Event.METHOD_ADDED, user_id=user_id, method=row.kind, credential_id=row.id)
    return Confirmed(row.kind)


def rename(core: Core, ctx: Context, *, user_id: int, credential_id: int, label: str) -> None:
    new_label = clean_label(label)
    with core.store.write() as s:
        row = _active(s, user_id, credential_id)
        row.label = new_label
        record(s, ctx, Event.METHOD_RENAMED, user_id=user_id, method=row.kind, credential_id=row.id)


def set_default(core: Core, ctx: Context, *, user_id: int, credential_id: int) -> None:
    with core.store.write() as s:
        target = _active(s, user_id, credential_id)
        for row in credentials.for_user(s, user_id, active_only=True):
            row.is_default = row.id == target.id
        record(
            s,
            ctx,
            Event.METHOD_DEFAULT,
            user_id=user_id,
            method=target.kind,
            credential_id=target.id,
        )


def remove(core: Core, ctx: Context, *, user_id: int, credential_id: int) -> None:
    """Delete a method. The last one stays while policy requires two-factor sign-in."""
    with core.store.write() as s:
        target = _active(s, user_id, credential_id)
        active = credentials.for_user(s, user_id, active_only=True)
        if len(active) == 1 and core.knobs.mfa_required:
            raise Conflict("last_method")
        s.delete(target)
        if target.is_default:
            rest = [r for r in active if r.id != target.id]
            if rest:
                rest[0].is_default = True
        record(
            s,
            ctx,
            Event.METHOD_REMOVED,
            user_id=user_id,
            method=target.kind,
            credential_id=target.id,
        )


def reset_all(core: Core, ctx: Context, *, user_id: int) -> int:
    """Helpdesk/operator: remove every method, sign-out everywhere, forget devices."""
    with core.store.write() as s:
        count = s.execute(delete(Credential).where(Credential.user_id == user_id)).rowcount  # type: ignore[attr-defined]
        sessions.revoke_all(s, user_id, ctx)
        record(s, ctx, Event.METHODS_RESET, user_id=user_id, details={"removed": count})
        return int(count or 0)


def clean_label(label: str) -> str:
    cleaned = " ".join(label.split())
    if not cleaned or len(cleaned) > MAX_LABEL or not cleaned.isprintable():
        raise Invalid("invalid_label")
    return cleaned


def _active(s: Session, user_id: int, credential_id: int) -> Credential:
    row = credentials.get(s, user_id, credential_id)
    if row is None or row.state != CredentialState.ACTIVE.value:
        raise NotFound("method_not_found")
    return row
