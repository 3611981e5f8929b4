"""Budgets on what is sent (``methods.base.SendBudget``): a method that sends something that
costs money or can be abused (an SMS code: toll fraud by SMS pumping) names counters per
number, person, address and for the whole service; the core checks every one before it keeps
the challenge or the pending credential, spends them in the same transaction, and audits the
one that refused (``<kind>.budget_exceeded``) in a transaction of its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import delivery, ratelimit
from portvakt.core.audit import record
from portvakt.core.base import Core
from portvakt.errors import Invalid, Throttled
from portvakt.methods.base import Delivery, EnrollmentStep, SendBudget


class BudgetSpent(Throttled):
    """A send budget is spent: nothing was sent or kept."""

    def __init__(self, budget: SendBudget, *, kind: str, user_id: int, retry_after: int) -> None:
        super().__init__("send_budget", retry_after=retry_after)
        self.budget = budget
        self.kind = kind
        self.user_id = user_id


def spend(
    s: Session, ctx: Context, budgets: Sequence[SendBudget], *, kind: str, user_id: int
) -> None:
    """Count one send against every budget; ``BudgetSpent`` for the first that goes over its
    limit. Counting first (one atomic upsert each) means two requests at once cannot both take
    the last one; the caller's transaction rolls back with the exception, and nothing it
    counted stays counted."""
    now = ctx.now()
    for budget in budgets:
        if ratelimit.hit(s, budget.key, now=now, window=budget.seconds) > budget.limit:
            _count, started = ratelimit.current(s, budget.key, now=now, window=budget.seconds)
            left = started + timedelta(seconds=budget.seconds) - now
            retry = int(left.total_seconds())
            raise BudgetSpent(budget, kind=kind, user_id=user_id, retry_after=retry)


def take(  # noqa: PLR0913 - keyword-only: whose, and where the deliveries go
    s: Session,
    core: Core,
    ctx: Context,
    step: EnrollmentStep,
    *,
    kind: str,
    user_id: int,
    outbox: list[Delivery] | None,
) -> None:
    """A new credential's deliveries (a code to a new number) into ``outbox``, for the caller to
    send after the commit (with no outbox, a step that sends is refused), and its budgets
    spent."""
    if step.deliveries:
        if outbox is None:
            raise Invalid("channel_unavailable")
        ensure_deliverable(core, step.deliveries)
        outbox.extend(step.deliveries)
    spend(s, ctx, step.budgets, kind=kind, user_id=user_id)


def audit_sent(
    s: Session, ctx: Context, step: EnrollmentStep, *, kind: str, user_id: int, credential_id: int
) -> None:
    """``<kind>.sent`` for what a new credential sent, as a challenge's sending is audited."""
    if step.deliveries:
        channels = sorted({d.channel for d in step.deliveries})
        details = {"purpose": "activation", "channels": channels}
        record(
            s,
            ctx,
            f"{kind}.sent",
            user_id=user_id,
            method=kind,
            credential_id=credential_id,
            details=details,
        )


def ensure_deliverable(core: Core, deliveries: Sequence[Delivery]) -> None:
    """``Invalid("channel_unavailable")`` when a delivery's channel has no port configured."""
    if any(not delivery.can_deliver(core, d.channel) for d in deliveries):
        raise Invalid("channel_unavailable")


@contextmanager
def audited(core: Core, ctx: Context) -> Iterator[None]:
    """Around a write transaction: a ``BudgetSpent`` raised in it (its transaction rolled
    back) is audited in a new one, then raised on."""
    try:
        yield
    except BudgetSpent as exc:
        with core.store.write() as s:
            record(
                s,
                ctx,
                f"{exc.kind}.budget_exceeded",
                outcome="failure",
                user_id=exc.user_id,
                method=exc.kind,
                details={
                    "budget": exc.budget.name,
                    "limit": exc.budget.limit,
                    "seconds": exc.budget.seconds,
                },
            )
        raise
