"""One flow for every kind that issues a challenge (push today; SMS and WebAuthn next): issue,
show, answer, use. The method decides (``methods.base``); this module keeps the rows, applies
the verdict under the row lock, counts one failure per wrong answer on the person's one lock
state, audits (``<kind>.sent``, ``<kind>.approved``, ``<kind>.denied``, ...), and hands
deliveries and state changes to the notifier after the commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portvakt import protocol
from portvakt.context import Context
from portvakt.core import delivery, sending, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed
from portvakt.core.factor import address_key
from portvakt.domain import ChallengeState, CredentialState, Purpose, UserRef
from portvakt.errors import Denied, Invalid, NotFound
from portvakt.methods.base import ChallengeRequest, FactorResponse, Verdict
from portvakt.store.repos import challenges, credentials, factors
from portvakt.store.repos.challenges import Binding

HISTORY = timedelta(hours=24)  # how far back ``ChallengeRequest.recent`` reaches


@dataclass(frozen=True, slots=True)
class Shown:
    """A challenge as a door shows it."""

    id: str
    kind: str
    state: str  # a ChallengeState value, ``expired`` once a pending one is past its time
    expires_at: datetime
    reason: str | None
    prompt: Mapping[str, Any]


def issue(
    core: Core,
    ctx: Context,
    *,
    user: UserRef,
    kind: str,
    purpose: Purpose,
    binding: Binding,
) -> Shown:
    """Ask ``kind``'s method for a challenge to ``user`` and keep it; ``Invalid`` when the kind
    is not allowed or the person has no active credential of it; the method's ``Throttled``
    (fatigue, resend limits) as it raised it."""
    if kind not in core.registry or kind not in core.knobs.allowed_kinds:
        raise Invalid("kind_not_allowed")
    if not core.registry.get(kind).capabilities.challenge:
        raise Invalid("kind_not_allowed")
    with sending.audited(core, ctx), core.store.write() as s:
        active = [c for c in credentials.for_user(s, user.id, active_only=True) if c.kind == kind]
        if not active:
            raise Invalid("kind_not_allowed")
        sent = issue_in(
            s,
            core,
            ctx,
            user=user,
            kind=kind,
            purpose=purpose,
            binding=binding,
            credentials_=active,
        )
    delivery.publish(core, sent)
    return sent.shown


def issue_in(  # noqa: PLR0913
    s: Session,
    core: Core,
    ctx: Context,
    *,
    user: UserRef,
    kind: str,
    purpose: Purpose,
    binding: Binding,
    credentials_: Sequence[Any],
) -> delivery.Sent:
    """``issue`` inside the caller's transaction; the caller calls ``publish`` after it."""
    now = ctx.now()
    method = core.registry.get(kind)
    request = ChallengeRequest(
        id=protocol.new_id(),
        user=user,
        credentials=tuple(credentials_),
        purpose=purpose,
        recent=challenges.recent(s, user.id, kind, now - HISTORY),
        place=delivery.place(core, ctx),
    )
    issued = method.challenge(ctx, request)
    sending.ensure_deliverable(core, issued.deliveries)  # else nothing is stored
    sending.spend(s, ctx, issued.budgets, kind=kind, user_id=user.id)
    superseded = challenges.supersede(s, user.id, kind) if issued.supersede else []
    expires = now + timedelta(seconds=issued.seconds)
    challenges.add(
        s,
        id=request.id,
        kind=kind,
        user_id=user.id,
        purpose=purpose,
        binding=binding,
        data=issued.data,
        created_at=now,
        expires_at=expires,
    )
    record(
        s,
        ctx,
        f"{kind}.sent",
        user_id=user.id,
        method=kind,
        credential_id=binding.credential_id,
        details={"tx": request.id, "purpose": purpose.value},
    )
    shown = Shown(request.id, kind, ChallengeState.PENDING.value, expires, None, issued.prompt)
    return delivery.Sent(user.id, shown, issued.deliveries, tuple(superseded))


def view(core: Core, ctx: Context, challenge_id: str, binding: Binding, user_id: int) -> Shown:
    """The challenge bound to ``binding`` with its state (``expired`` once past its time)."""
    with core.store.read() as s:
        found = challenges.get(s, challenge_id)
    if found is None or found.binding != binding or found.view.user_id != user_id:
        raise NotFound("push_not_found")
    row = found.view
    state = row.state.value
    if row.state is ChallengeState.PENDING and row.expires_at <= ctx.now():
        state = "expired"
    prompt = core.registry.get(row.kind).prompt(ctx, row) if row.kind in core.registry else {}
    return Shown(row.id, row.kind, state, row.expires_at, row.reason, prompt)


def respond(
    core: Core, ctx: Context, *, challenge_id: str, credential_id: int, response: FactorResponse
) -> str:
    """Apply an answer to a challenge from the credential ``credential_id`` (an app's signed
    message). Returns the new state; raises ``Denied`` with the protocol's error code for
    anything refused (audited)."""
    with core.store.write() as s:
        found = challenges.get(s, challenge_id, for_update=True)
        sealed = credentials.get_by_id(s, credential_id)
        cred = open_sealed(ctx, sealed) if sealed is not None else None
        challenge = found.view if found is not None else None
        refusal = _refusal(ctx, challenge, cred)
        verdict = None
        if refusal is None and challenge is not None and cred is not None:
            method = core.registry.get(challenge.kind)
            verdict = method.verify(ctx, cred, challenge, response)
            if verdict.challenge_state is ChallengeState.PENDING:
                refusal = verdict.reason  # a message that does not verify changes nothing
        if refusal is not None or verdict is None or challenge is None or cred is None:
            kind = challenge.kind if challenge is not None else (cred.kind if cred else "challenge")
            record(
                s,
                ctx,
                f"{kind}.refused",
                outcome="failure",
                user_id=cred.user_id if cred is not None else None,
                method=kind,
                details={"tx": challenge_id[:40], "reason": refusal},
            )
        else:
            _apply(s, core, ctx, challenge, cred, verdict)
    if refusal is not None or verdict is None or challenge is None:
        raise Denied(refusal or "not_pending")
    state = verdict.challenge_state
    delivery.announce(core, challenge.user_id, challenge.id, state.value)
    if state is ChallengeState.FAILED:
        raise Denied(verdict.reason)
    return state.value


def use(s: Session, challenge_id: str, binding: Binding) -> bool:
    """Move an approved challenge bound to ``binding`` to ``used``, once."""
    return challenges.use(s, challenge_id, binding) is not None


def _refusal(ctx: Context, challenge: Any, cred: Any) -> str | None:  # noqa: PLR0911 - one per rule
    if challenge is None or cred is None or challenge.user_id != cred.user_id:
        return "not_pending"
    if cred.kind != challenge.kind:
        return "not_pending"
    enrolling = challenge.purpose is Purpose.ENROLLMENT
    if enrolling and challenge.credential_id != cred.id:
        return "not_pending"
    if not enrolling and cred.state is not CredentialState.ACTIVE:
        return "unauthorized"
    if challenge.state is not ChallengeState.PENDING:
        return "not_pending"
    if challenge.expires_at <= ctx.now():
        return "expired"
    return None


def _apply(
    s: Session, core: Core, ctx: Context, challenge: Any, cred: Any, verdict: Verdict
) -> None:
    state = verdict.challenge_state
    now = ctx.now()
    challenges.answer(s, challenge.id, state=state, reason=verdict.reason, at=now, by=cred.id)
    details = {"tx": challenge.id, "reason": verdict.reason, **dict(verdict.details or {})}
    kind = challenge.kind
    if verdict.ok:
        record(
            s,
            ctx,
            f"{kind}.approved",
            user_id=cred.user_id,
            method=kind,
            credential_id=cred.id,
            details=details,
        )
        enrolling = challenge.purpose is Purpose.ENROLLMENT
        if credentials.mark_used(s, cred.id, now, activate=enrolling, params=verdict.params):
            record(
                s,
                ctx,
                Event.METHOD_ADDED,
                user_id=cred.user_id,
                method=kind,
                credential_id=cred.id,
                details={"label": cred.label},
            )
        return
    name = "fraud_reported" if verdict.alert else state.value
    record(
        s,
        ctx,
        f"{kind}.{name}" if state is ChallengeState.DENIED else Event.FACTOR_FAILED,
        outcome="failure",
        user_id=cred.user_id,
        method=kind,
        credential_id=cred.id,
        details=details,
    )
    if verdict.counts:
        subject = factors.by_id(s, cred.user_id, rate_keys=(address_key(ctx),))
        if subject is not None:
            lock, _throttled = throttle.failed(
                s, ctx, cred.user_id, subject.lock, core.knobs, method=kind
            )
            factors.save_lock(s, cred.user_id, lock)
