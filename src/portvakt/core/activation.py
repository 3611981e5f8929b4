"""First activation during sign-in: the person has no usable method and adds one now. Each
step is one core call and one transaction that locks the sign-in row: begin (a pending
credential of a kind policy allows), confirm (the first answer, or the app's out-of-band
activation, then the session), skip (in the grace period), or claim a hardware token the
person was given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from portvakt.context import Context
from portvakt.core import delivery, enrollment, sending, signin, tokenclaim
from portvakt.core.base import Core
from portvakt.domain import CredentialState, SignInStage
from portvakt.errors import Denied, Invalid, NotFound, PortvaktError
from portvakt.methods.base import NO_ANSWERS, Answer, Delivery
from portvakt.store.repos import credentials, signins


def pending(core: Core, ctx: Context, token: str | None) -> signin.PendingSignIn:
    """The sign-in in progress, at its activation stage (else ``NotFound``)."""
    found = signin.load(core, ctx, token)
    if found.stage is not SignInStage.ACTIVATION:
        raise NotFound("signin_expired")
    return found


def kinds(core: Core, found: signin.PendingSignIn) -> list[str]:
    """The kinds this person may add now: allowed by policy, added by people themselves, and
    a way to sign in day to day (not a fallback such as recovery codes)."""
    registry = core.registry
    return registry.ordered(
        kind
        for kind in found.decision.enrollable_kinds
        if kind in registry
        and registry.get(kind).capabilities.enrollable
        and not registry.is_fallback(kind)
    )


def begin(
    core: Core,
    ctx: Context,
    *,
    token: str | None,
    kind: str,
    answers: Mapping[str, str] = NO_ANSWERS,
) -> int:
    """A pending credential of ``kind`` for the sign-in in progress; its id."""
    found = pending(core, ctx, token)
    if kind not in kinds(core, found):
        raise Invalid("kind_not_allowed")
    outbox: list[Delivery] = []
    with sending.audited(core, ctx), core.store.write() as s:
        signin.lock(s, ctx, found)
        credential_id = enrollment.begin_in(
            s, core, ctx, user_id=found.user.id, kind=kind, answers=answers, outbox=outbox
        )
        signins.set_pending_credential(s, found.id, credential_id)
    for item in outbox:
        delivery.deliver(core, item)
    return credential_id


def confirm(
    core: Core,
    ctx: Context,
    *,
    token: str | None,
    code: str | None,
    old_session: str | None,
    payload: Mapping[str, Any] | None = None,
) -> signin.Progress:
    """Finish the pending credential and the sign-in, with two factors: a typed first code,
    or (for a kind answered out of band) the app having activated the credential already."""
    found = pending(core, ctx, token)
    if found.pending_credential_id is None:
        raise NotFound("signin_expired")
    refusal: PortvaktError | None = None
    with core.store.write() as s:
        signin.lock(s, ctx, found)
        sealed = credentials.get(s, found.user.id, found.pending_credential_id)
        if sealed is None or sealed.view.kind not in core.registry:
            raise NotFound("enrollment_not_found")
        row = sealed.view
        kind = row.kind
        if core.registry.get(kind).capabilities.answer is not Answer.NONE:
            outcome = enrollment.confirm_in(
                s,
                core,
                ctx,
                user_id=found.user.id,
                credential_id=row.id,
                code=code or "",
                payload=payload,
            )
            refusal = outcome.refusal
        elif row.state is not CredentialState.ACTIVE:
            refusal = Denied("not_ready")
        if refusal is None:
            return signin.finish_pending(s, ctx, found, method=kind, old_session=old_session)
    raise refusal


def token_kinds(core: Core, found: signin.PendingSignIn) -> list[str]:
    """Kinds of hardware tokens this person may claim now (allowed by policy)."""
    allowed = found.decision.enrollable_kinds
    return [kind for kind in core.registry.token_kinds() if kind in allowed]


def claim(
    core: Core,
    ctx: Context,
    *,
    token: str | None,
    serial: str,
    codes: Sequence[str],
    old_session: str | None,
) -> signin.Progress:
    """Claim a hardware token the person was given as their first method, and finish the
    sign-in with it (``core.tokenclaim``: a wrong claim counts as a wrong code)."""
    found = pending(core, ctx, token)
    allowed = token_kinds(core, found)
    with core.store.write() as s:
        signin.lock(s, ctx, found)
        kind, throttled = tokenclaim.claim_in(
            s, core, ctx, user_id=found.user.id, serial=serial, codes=codes, allowed=allowed
        )
        if kind is not None:
            return signin.finish_pending(s, ctx, found, method=kind, old_session=old_session)
    raise tokenclaim.refusal(throttled)
