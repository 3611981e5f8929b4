"""Adding, confirming, renaming, defaulting and removing methods.

A new credential is ``pending`` until the person proves it works with one valid response
(OTP-08); the step used to confirm counts as used, so it cannot sign in again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import delivery, ratelimit, sending, sessions
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed, seal_secret
from portvakt.domain import CredentialState, CredentialView
from portvakt.errors import Conflict, Denied, Invalid, NotFound, PortvaktError, Throttled
from portvakt.methods.base import NO_ANSWERS, Delivery, FactorResponse
from portvakt.store.repos import credentials, users

MAX_LABEL = 64
CONFIRM_TRIES = 10


@dataclass(frozen=True, slots=True)
class PendingDisplay:
    credential_id: int
    kind: str
    label: str
    display: Mapping[str, Any]


def begin(
    core: Core,
    ctx: Context,
    *,
    user_id: int,
    kind: str,
    label: str = "",
    answers: Mapping[str, str] = NO_ANSWERS,
) -> int:
    """Create a pending credential (replacing an older pending one of the same kind). An empty
    label means "show the name of the kind" in the reader's language; ``answers`` are the
    fields of the kind's start page (``Capabilities.enroll_fields``)."""
    outbox: list[Delivery] = []
    with sending.audited(core, ctx), core.store.write() as s:
        found = begin_in(
            s, core, ctx, user_id=user_id, kind=kind, label=label, answers=answers, outbox=outbox
        )
    for item in outbox:
        delivery.deliver(core, item)
    return found


def begin_in(  # noqa: PLR0913 - keyword-only, as ``begin``
    s: Session,
    core: Core,
    ctx: Context,
    *,
    user_id: int,
    kind: str,
    label: str = "",
    answers: Mapping[str, str] = NO_ANSWERS,
    outbox: list[Delivery] | None = None,
) -> int:
    """``begin`` inside the caller's transaction; the step's deliveries (a code sent to a new
    number) are added to ``outbox``, for the caller to send after the commit (with none given,
    a step that sends something is refused)."""
    if kind not in core.knobs.allowed_kinds or kind not in core.registry:
        raise Invalid("kind_not_allowed")
    method = core.registry.get(kind)
    if not method.capabilities.enrollable:
        raise Invalid("kind_not_allowed")
    user = users.by_id(s, user_id)
    if user is None:
        raise NotFound("user_not_found")
    credentials.remove_pending(s, user_id, kind)
    fields = method.capabilities.enroll_fields
    given = {k: v for k, v in answers.items() if k in fields}
    label = label or given.get("label", "")  # a kind whose start page names it (a key)
    if "label" in fields:
        label = clean_label(label)
    step = method.begin_enrollment(ctx, user, given)
    sending.take(s, core, ctx, step, kind=kind, user_id=user_id, outbox=outbox)
    key_id, sealed = None, None
    if step.secret is not None:
        key_id, sealed = seal_secret(ctx, user_id=user_id, kind=kind, secret=step.secret)
    credential_id = credentials.add(
        s,
        user_id=user_id,
        kind=kind,
        label=clean_label(label) if label else "",
        params=step.params,
        created_at=ctx.now(),
        key_id=key_id,
        sealed=sealed,
    )
    sending.audit_sent(s, ctx, step, kind=kind, user_id=user_id, credential_id=credential_id)
    return credential_id


def pending_display(
    core: Core, ctx: Context, *, user_id: int, credential_id: int
) -> PendingDisplay:
    with core.store.read() as s:
        found = credentials.get(s, user_id, credential_id)
        user = users.by_id(s, user_id)
        if found is None or user is None or found.view.state is not CredentialState.PENDING:
            raise NotFound("enrollment_not_found")
        view = open_sealed(ctx, found)
        display = core.registry.get(view.kind).enrollment_display(ctx, user, view)
        return PendingDisplay(
            credential_id=view.id, kind=view.kind, label=view.label, display=display
        )


def confirm(
    core: Core,
    ctx: Context,
    *,
    user_id: int,
    credential_id: int,
    code: str = "",
    payload: Mapping[str, Any] | None = None,
) -> str:
    """Activate a pending credential with one valid response (a typed code, or a ceremony's
    ``payload``); returns its kind."""
    with core.store.write() as s:
        outcome = confirm_in(
            s, core, ctx, user_id=user_id, credential_id=credential_id, code=code, payload=payload
        )
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


def confirm_in(  # noqa: PLR0913 - keyword-only, as ``confirm``
    s: Session,
    core: Core,
    ctx: Context,
    *,
    user_id: int,
    credential_id: int,
    code: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Confirmed:
    """``confirm`` inside the caller's transaction."""
    found = credentials.get(s, user_id, credential_id)
    if found is None or found.view.state is not CredentialState.PENDING:
        return Confirmed(None, NotFound("enrollment_not_found"))
    view = found.view
    tries = ratelimit.hit(s, f"enroll:{view.id}", now=ctx.now(), window=3600)
    if tries > CONFIRM_TRIES:
        return Confirmed(None, Throttled("enrollment_tries", retry_after=3600))
    method = core.registry.get(view.kind)
    if payload is not None:
        response = FactorResponse(payload=payload)
    else:
        cleaned = method.normalise_response(code)
        if cleaned is None:
            return Confirmed(None, Denied("wrong_code"))
        response = FactorResponse(code=cleaned)
    verdict = method.finish_enrollment(ctx, open_sealed(ctx, found), response)
    taken = (
        verdict.ok
        and verdict.unique is not None
        and credentials.param_taken(s, view.kind, *verdict.unique, but=view.id)
    )
    if taken:
        verdict = replace(verdict, ok=False, reason="already_registered")
    if not verdict.ok:
        record(
            s,
            ctx,
            Event.FACTOR_FAILED,
            outcome="failure",
            user_id=user_id,
            method=view.kind,
            credential_id=view.id,
            details={"enrolling": True, "reason": verdict.reason, **dict(verdict.details or {})},
        )
        shown = "wrong_answer" if payload is not None else "wrong_code"
        return Confirmed(None, Denied("already_registered" if taken else shown))
    counter = verdict.counter.value if verdict.counter else None
    credentials.activate(
        s,
        view.id,
        ctx.now(),
        counter=counter,
        params=verdict.params,
        forget_secret=verdict.forget_secret,
        may_be_default=not method.capabilities.fallback,
    )
    replaced = 0
    if method.capabilities.one_per_person:
        replaced = credentials.remove_others(s, user_id, view.kind, keep=view.id)
    ratelimit.reset(s, f"enroll:{view.id}")
    details = {"replaced": replaced} if replaced else None
    record(
        s,
        ctx,
        Event.METHOD_ADDED,
        user_id=user_id,
        method=view.kind,
        credential_id=view.id,
        details=details,
    )
    return Confirmed(view.kind)


def rename(core: Core, ctx: Context, *, user_id: int, credential_id: int, label: str) -> None:
    new_label = clean_label(label)
    with core.store.write() as s:
        view = _active(s, user_id, credential_id)
        credentials.rename(s, view.id, new_label)
        record(
            s, ctx, Event.METHOD_RENAMED, user_id=user_id, method=view.kind, credential_id=view.id
        )


def set_default(core: Core, ctx: Context, *, user_id: int, credential_id: int) -> None:
    with core.store.write() as s:
        target = _active(s, user_id, credential_id)
        if core.registry.is_fallback(target.kind):
            raise Invalid("cannot_be_default")
        credentials.make_default(s, user_id, target.id)
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
        fallback = core.registry.is_fallback
        primary = [c for c in active if not fallback(c.kind)]
        if core.knobs.mfa_required and not fallback(target.kind) and len(primary) <= 1:
            raise Conflict("last_method")  # recovery codes alone are no way to sign in
        credentials.remove(s, target.id)
        if target.is_default:
            rest = [r for r in primary if r.id != target.id]
            if rest:
                credentials.make_default(s, user_id, rest[0].id)
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
        count = credentials.remove_all(s, user_id)
        sessions.revoke_all(s, user_id, ctx)
        record(s, ctx, Event.METHODS_RESET, user_id=user_id, details={"removed": count})
        return count


def clean_label(label: str) -> str:
    cleaned = " ".join(label.split())
    if not cleaned or len(cleaned) > MAX_LABEL or not cleaned.isprintable():
        raise Invalid("invalid_label")
    return cleaned


def _active(s: Session, user_id: int, credential_id: int) -> CredentialView:
    found = credentials.get(s, user_id, credential_id)
    if found is None or found.view.state is not CredentialState.ACTIVE:
        raise NotFound("method_not_found")
    return found.view
