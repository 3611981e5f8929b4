"""A person claims an unassigned hardware token they were given: on Security info, or at first
activation during sign-in. The token's kind judges the codes (two consecutive codes, one touch:
``verify_claim``); the token becomes the person's active method (``core.tokens``).

A wrong claim counts as a wrong code: against the person's lockout and the address's budget,
in the same transaction as the audit row. An unknown serial, a token already held, or one of a
kind policy does not allow is answered the same way, so serials cannot be probed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.factor import address_budget, gate, keys_of, spend
from portvakt.core.tokens import MAX_CODES, counter_of, hand_over, token_view
from portvakt.errors import Denied, NotFound, PortvaktError, Throttled
from portvakt.methods.base import Verdict
from portvakt.store.repos import factors
from portvakt.store.repos import tokens as stored


def claim_serial(core: Core, codes: Sequence[str]) -> str:
    """The serial a code names by itself (a YubiKey's touch), for a claim without one."""
    for kind in core.registry.token_kinds():
        found = next((core.registry.get(kind).claim_serial(c) for c in codes if c.strip()), None)
        if found:
            return found
    return ""


def claim(core: Core, ctx: Context, *, user_id: int, serial: str, codes: Sequence[str]) -> str:
    """Claim on Security info; the token's kind (``Denied``, ``Throttled`` when refused)."""
    with core.store.write() as s:
        kind, throttled = claim_in(
            s,
            core,
            ctx,
            user_id=user_id,
            serial=serial,
            codes=codes,
            allowed=core.knobs.allowed_kinds,
        )
    if kind is None:
        raise refusal(throttled)
    return kind


def refusal(throttled: Throttled | None) -> PortvaktError:
    """What a refused claim raises, once its transaction has committed."""
    return throttled if throttled is not None else Denied("claim_failed")


def claim_in(  # noqa: PLR0913 - keyword-only: who, what, with which codes, of which kinds
    s: Session,
    core: Core,
    ctx: Context,
    *,
    user_id: int,
    serial: str,
    codes: Sequence[str],
    allowed: Collection[str],
) -> tuple[str | None, Throttled | None]:
    """Inside the caller's transaction: (the kind, None) when the token is now the person's,
    else (None, the lock's ``Throttled`` if this failure closed it). Raises ``Throttled``
    before anything is written while the person or the address is locked out."""
    serial = serial.strip() or claim_serial(core, codes)
    budgets = (address_budget(ctx),)
    subject = factors.by_id(s, user_id, rate_keys=keys_of(budgets))
    if subject is None:
        raise NotFound("user_not_found")
    gate(ctx, subject.lock, subject.counters, budgets)
    token = stored.by_serial(s, serial, for_update=True) if serial else None
    verdict = Verdict(ok=False, reason="no_such_token")
    if token is not None and token.credential_id is None and token.kind in allowed:
        view = token_view(ctx, token, user_id)
        verdict = core.registry.get(token.kind).verify_claim(ctx, view, codes[:MAX_CODES])
        if verdict.ok:
            params = verdict.params if verdict.params is not None else token.params
            claimed = replace(view, counter=counter_of(verdict, view.counter), params=dict(params))
            credential_id = hand_over(s, ctx, claimed, token)
            record(
                s,
                ctx,
                Event.TOKEN_CLAIMED,
                user_id=user_id,
                method=token.kind,
                credential_id=credential_id,
                details={"serial": token.serial},
            )
            return token.kind, None
    details = {"serial": serial[:64], "reason": verdict.reason}
    record(s, ctx, Event.TOKEN_CLAIM_FAILED, outcome="failure", user_id=user_id, details=details)
    spend(s, ctx, budgets)
    lock, throttled = throttle.failed(s, ctx, user_id, subject.lock, core.knobs, method=None)
    factors.save_lock(s, user_id, lock)
    return None, throttled
