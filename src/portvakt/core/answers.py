"""A challenge answered in the browser: an SMS code typed on the waiting page, a WebAuthn
assertion posted by the page's script. One statement reads the person's lock, credentials and
the address's counter under the row lock; the challenge is read under its own; the method
picks the credential the answer comes from and decides; the verdict is applied here (replay
counter by compare-and-set, the challenge's state, one failure on the one lock state). What
the approved challenge was for (a sign-in, a step-up) is finished by the caller in the same
transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import factor, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed
from portvakt.domain import ChallengeState, ChallengeView, CredentialState
from portvakt.errors import Throttled
from portvakt.methods.base import FactorResponse, Verdict
from portvakt.store.repos import challenges, credentials, factors
from portvakt.store.repos.challenges import Binding


@dataclass(frozen=True, slots=True)
class Answered:
    """What became of one answer: ``state`` is the challenge's (``pending`` when it may be
    answered again), ``reason`` a stable code when refused, ``throttled`` when the lock or a
    budget refused before the method was asked."""

    kind: str
    state: ChallengeState
    reason: str = ""
    throttled: Throttled | None = None

    @property
    def ok(self) -> bool:
        return self.state is ChallengeState.APPROVED


def answer_in(  # noqa: PLR0913 - keyword-only: which challenge, whose, what was answered
    s: Session,
    core: Core,
    ctx: Context,
    *,
    challenge_id: str,
    binding: Binding,
    user_id: int,
    response: FactorResponse,
    budgets: tuple[factor.Budget, ...] | None = None,
) -> Answered:
    """Apply ``response`` to the pending challenge ``challenge_id`` of ``binding``. Raising
    nothing inside: a refusal is returned, so that the failure it counts is committed.
    ``budgets``: what a wrong answer spends (by default the caller's address's; the validate
    API spends its integration's)."""
    budgets = budgets or (factor.address_budget(ctx),)
    subject = factors.by_id(s, user_id, rate_keys=factor.keys_of(budgets))
    found = challenges.get(s, challenge_id, for_update=True)
    early = _early(ctx, subject, found, binding, user_id, core)
    if early is not None or found is None or subject is None:
        return early or Answered("", ChallengeState.FAILED, "not_pending")
    challenge = found.view
    kind = challenge.kind
    try:
        factor.gate(ctx, subject.lock, subject.counters, budgets)
    except Throttled as exc:
        record(s, ctx, Event.SIGNIN_THROTTLED, outcome="failure", user_id=user_id, method=kind)
        return Answered(kind, ChallengeState.PENDING, exc.code, throttled=exc)
    method = core.registry.get(kind)
    sealed = {
        c.view.id: c
        for c in subject.credentials
        if c.view.kind == kind and c.view.state is CredentialState.ACTIVE
    }
    views = [open_sealed(ctx, c) for c in sealed.values()]
    cred = method.answering_credential(challenge, response, views)
    if cred is None or cred.id not in sealed:
        verdict = Verdict(ok=False, reason="unknown_credential", challenge=ChallengeState.PENDING)
    else:
        verdict = method.verify(ctx, cred, challenge, response)
        if verdict.ok and not factor.apply_verdict(s, ctx, sealed[cred.id], verdict):
            verdict = Verdict(ok=False, reason="replay", challenge=ChallengeState.FAILED)
    if verdict.ok:
        return _approved(s, ctx, subject, challenge, cred.id if cred else None, verdict)
    answering = cred.id if cred is not None and cred.id in sealed else None
    return _refused(
        s, core, ctx, subject, challenge, verdict=verdict, budgets=budgets, credential_id=answering
    )


def _early(
    ctx: Context,
    subject: factors.FactorSubject | None,
    found: challenges.Bound | None,
    binding: Binding,
    user_id: int,
    core: Core,
) -> Answered | None:
    """A refusal before the method is asked: not this sign-in's (or session's) challenge, no
    longer pending, or past its time."""
    if subject is None or found is None or found.binding != binding:
        return Answered("", ChallengeState.FAILED, "not_pending")
    challenge = found.view
    kind = challenge.kind
    if challenge.user_id != user_id or kind not in core.registry:
        return Answered(kind, ChallengeState.FAILED, "not_pending")
    if challenge.state is not ChallengeState.PENDING:
        return Answered(kind, challenge.state, "not_pending")
    if challenge.expires_at <= ctx.now():
        return Answered(kind, ChallengeState.EXPIRED, "expired")
    return None


def _approved(
    s: Session,
    ctx: Context,
    subject: factors.FactorSubject,
    challenge: ChallengeView,
    credential_id: int | None,
    verdict: Verdict,
) -> Answered:
    now = ctx.now()
    challenges.answer(
        s, challenge.id, state=ChallengeState.APPROVED, reason=None, at=now, by=credential_id
    )
    if subject.lock.failures:
        factors.save_lock(s, subject.user_id, replace(subject.lock, failures=0))
    record(
        s,
        ctx,
        f"{challenge.kind}.approved",
        user_id=subject.user_id,
        method=challenge.kind,
        credential_id=credential_id,
        details={"tx": challenge.id, **dict(verdict.details or {})},
    )
    return Answered(challenge.kind, ChallengeState.APPROVED)


def _refused(  # noqa: PLR0913 - one failure's parts
    s: Session,
    core: Core,
    ctx: Context,
    subject: factors.FactorSubject,
    challenge: ChallengeView,
    *,
    verdict: Verdict,
    budgets: tuple[factor.Budget, ...],
    credential_id: int | None,
) -> Answered:
    kind, now = challenge.kind, ctx.now()
    state = verdict.challenge_state
    if state is ChallengeState.PENDING:
        if verdict.challenge_data is not None:
            challenges.set_data(s, challenge.id, verdict.challenge_data)
    else:
        challenges.answer(
            s,
            challenge.id,
            state=state,
            reason=verdict.reason,
            at=now,
            by=None,
            data=verdict.challenge_data,
        )
    if verdict.params is not None and credential_id is not None:
        # a refusal that marks the credential (a WebAuthn sign count gone backwards)
        credentials.replace_params(s, credential_id, verdict.params)
    event = Event.FACTOR_REPLAY if verdict.reason == "replay" else Event.FACTOR_FAILED
    details = {"tx": challenge.id, "reason": verdict.reason, **dict(verdict.details or {})}
    record(s, ctx, event, outcome="failure", user_id=subject.user_id, method=kind, details=details)
    throttled = None
    if verdict.counts:
        factor.spend(s, ctx, budgets)
        lock, throttled = throttle.failed(
            s, ctx, subject.user_id, subject.lock, core.knobs, method=kind
        )
        factors.save_lock(s, subject.user_id, lock)
    return Answered(kind, state, verdict.reason or "wrong_answer", throttled=throttled)
