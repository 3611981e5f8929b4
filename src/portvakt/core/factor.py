"""Checking a typed code against the person's credentials of one kind, under a row lock, with
replay state moved forward by compare-and-set (STYLE habit 6; OTP-03, OTP-04).

Shared by every door: the sign-in and step-up pages call ``check_code`` with the person's id,
the validate API calls ``check_subject`` with the person it read by username. Either way the
person's lock state, credentials and the counters of the budgets the check spends (``Budget``:
the caller's address on the pages; the integration's, and the end user's address when it is
trusted, on the validate API) come from one statement, and a success writes one row (more only
to reset the failure count)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import ratelimit, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed
from portvakt.domain import FactorLock
from portvakt.errors import Throttled
from portvakt.methods.base import CounterRule, FactorResponse, Verdict
from portvakt.store.repos import credentials, factors
from portvakt.store.repos.factors import Counter, FactorSubject, SealedCredential


@dataclass(frozen=True, slots=True)
class FactorOutcome:
    ok: bool
    credential_id: int | None = None
    throttled: Throttled | None = None
    kind: str | None = None
    reason: str = ""  # a refusal the person is told (an expired pass), else empty


# A right answer that no longer works, as the verdict's reason says: the error code the door
# shows. It does not count towards the lockout (the person knew the secret).
SHOWN_REASONS = {"expired": "credential_expired", "used_up": "credential_used_up"}


@dataclass(frozen=True, slots=True)
class Budget:
    """A rate counter that wrong codes spend (RL-03, RL-05): at ``limit`` failures in the
    window every check that spends it is refused, right codes too."""

    key: str
    limit: int


def check_code(  # noqa: PLR0913 - keyword-only: whose, which kinds, what was typed
    s: Session,
    core: Core,
    ctx: Context,
    *,
    user_id: int,
    kind: str | None = None,
    kinds: tuple[str, ...] = (),
    raw_code: str,
) -> FactorOutcome:
    """Verify ``raw_code`` for one kind (or any of ``kinds``). Only the credential that matched
    changes state; a failure counts once against the account, whatever the number of
    credentials tried."""
    budgets = (address_budget(ctx),)
    subject = factors.by_id(s, user_id, rate_keys=keys_of(budgets))
    if subject is None:
        return FactorOutcome(ok=False)
    return check_subject(
        s, core, ctx, subject, kind=kind, kinds=kinds, raw_code=raw_code, budgets=budgets
    )


def check_subject(  # noqa: PLR0913 - keyword-only: what is checked and what it spends
    s: Session,
    core: Core,
    ctx: Context,
    subject: FactorSubject,
    *,
    kind: str | None = None,
    kinds: tuple[str, ...] = (),
    raw_code: str,
    budgets: tuple[Budget, ...],
) -> FactorOutcome:
    """``check_code`` for a person already read (and locked) with ``store.repos.factors``,
    with the counters of ``budgets`` (``subject.counters``, in the same order). With ``kinds``
    the code is tried against every credential of those kinds (a 6-digit code against a TOTP
    app and a hardware token alike); a wrong code still counts once."""
    if kind is not None:
        if kind not in core.registry:
            return FactorOutcome(ok=False)
        kinds = (kind,)
    if not kinds:
        return FactorOutcome(ok=False)
    user_id = subject.user_id
    try:
        gate(ctx, subject.lock, subject.counters, budgets)
    except Throttled as exc:
        named = _named(subject, kinds)
        record(s, ctx, Event.SIGNIN_THROTTLED, outcome="failure", user_id=user_id, method=named)
        return FactorOutcome(ok=False, throttled=exc)
    replayed = False
    refusal = ""
    registry = core.registry
    for credential in _candidates(subject, kinds):
        method = registry.get(credential.view.kind)
        code = method.normalise_response(raw_code)
        if code is None:
            continue
        view = open_sealed(ctx, credential)
        verdict = method.verify(ctx, view, None, FactorResponse(code=code))
        if verdict.ok and apply_verdict(s, ctx, credential, verdict):
            lock = subject.lock
            if lock.failures:
                factors.save_lock(s, user_id, replace(lock, failures=0))
            return FactorOutcome(ok=True, credential_id=view.id, kind=view.kind)
        replayed = replayed or verdict.ok or verdict.reason == "replay"
        refusal = refusal or SHOWN_REASONS.get(verdict.reason, "")
    named = _named(subject, kinds)
    if refusal:
        details = {"reason": refusal}
        record(
            s,
            ctx,
            Event.FACTOR_FAILED,
            outcome="failure",
            user_id=user_id,
            method=named,
            details=details,
        )
        return FactorOutcome(ok=False, reason=refusal)
    event = Event.FACTOR_REPLAY if replayed else Event.FACTOR_FAILED
    record(s, ctx, event, outcome="failure", user_id=user_id, method=named)
    spend(s, ctx, budgets)
    lock, throttled = throttle.failed(s, ctx, user_id, subject.lock, core.knobs, method=named)
    factors.save_lock(s, user_id, lock)
    return FactorOutcome(ok=False, throttled=throttled)


def apply_verdict(s: Session, ctx: Context, credential: SealedCredential, verdict: Verdict) -> bool:
    """Store a right answer's state change; False if a concurrent check won (a replay)."""
    if verdict.counter is not None:
        return credentials.advance_counter(
            s,
            credential.view.id,
            verdict.counter.value,
            ctx.now(),
            zero_stays=verdict.counter.rule is CounterRule.SIGN_COUNT,
        )
    if verdict.consumed is not None:
        return credentials.consume(s, credential.view.id, verdict.consumed, ctx.now())
    return credentials.touch(s, credential.view.id, ctx.now(), params=verdict.params)


def gate(
    ctx: Context,
    lock: FactorLock,
    counters: Sequence[Counter | None],
    budgets: Sequence[Budget],
) -> None:
    """Raise ``Throttled`` while the lock is closed or a budget is spent: the lock first, then
    each budget in order (the answer names the first that refuses)."""
    now = ctx.now()
    throttle.ensure_open(lock, now)
    window = ctx.settings.rate_window_seconds
    for budget, counter in zip(budgets, counters, strict=True):
        ratelimit.check_below(counter, limit=budget.limit, now=now, window=window)


def spend(s: Session, ctx: Context, budgets: Sequence[Budget]) -> None:
    """Count one failure against every budget."""
    for budget in budgets:
        ratelimit.hit(s, budget.key, now=ctx.now(), window=ctx.settings.rate_window_seconds)


def address_key(ctx: Context, ip: str | None = None) -> str:
    """The rate counter of wrong codes from an address (the caller's unless ``ip`` is given),
    shared by every door (RL-03)."""
    return f"code-ip:{ctx.ip if ip is None else ip}"


def address_budget(ctx: Context, ip: str | None = None) -> Budget:
    return Budget(address_key(ctx, ip), ctx.settings.code_failures_per_ip)


def keys_of(budgets: Sequence[Budget]) -> tuple[str, ...]:
    return tuple(budget.key for budget in budgets)


def _named(subject: FactorSubject, kinds: tuple[str, ...]) -> str:
    """The kind an audit row names: the person's own of ``kinds``, or the first."""
    return next((c.view.kind for c in subject.credentials if c.view.kind in kinds), kinds[0])


def _candidates(subject: FactorSubject, kinds: tuple[str, ...]) -> list[SealedCredential]:
    rows = [c for c in subject.credentials if c.view.kind in kinds]
    return sorted(rows, key=lambda c: (not c.view.is_default, c.view.id))
