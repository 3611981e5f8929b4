"""The validate API's answer to a challenge that takes a typed code (``{"transaction_id",
"code"}``): the SMS code the person received after ``{"username", "method"}``. The challenge
must be this integration's; the answer is applied by ``core.answers`` under the person's lock
(a wrong code counts once on the one lock state and once on the challenge's tries, and spends
the integration's budget, not its address's), and a right one is used at once: ``accept``
exactly once."""

from __future__ import annotations

from portvakt.context import Context
from portvakt.core import answers, challenges
from portvakt.core.base import Core
from portvakt.core.factor import Budget
from portvakt.core.integrations import IntegrationView
from portvakt.core.validate import ACCEPT, LOCKED, REJECT, Result, audit, integration_key
from portvakt.domain import ChallengeState, Purpose
from portvakt.errors import Invalid, NotFound
from portvakt.methods.base import Answer, FactorResponse
from portvakt.store.repos import challenges as challenge_rows
from portvakt.store.repos.challenges import Binding


def answer(core: Core, ctx: Context, integration: IntegrationView, tx: str, code: str) -> Result:
    """``accept`` for the right code, ``reject`` for a wrong one (the challenge may be
    answered again until its tries run out), ``locked`` while the second factor is locked;
    ``NotFound`` for a transaction that is not this integration's, ``Invalid`` for one whose
    kind is not answered by a typed code (a push: read it with GET instead)."""
    binding = Binding(integration_id=integration.id)
    with core.store.read() as s:
        found = challenge_rows.get(s, tx)
    if found is None or found.binding != binding or found.view.purpose is not Purpose.API:
        raise NotFound("transaction_not_found")
    kind = found.view.kind
    method = core.registry.get(kind) if kind in core.registry else None
    if method is None or method.capabilities.answer is not Answer.CODE:
        raise Invalid("not_answered_by_code")
    cleaned = method.normalise_response(code) or ""  # a malformed code is a wrong code
    limit = ctx.settings.code_failures_per_integration
    budgets = (Budget(integration_key(integration), limit),)
    details = {"integration": integration.name, "method": kind, "tx": tx}
    with core.store.write() as s:
        answered = answers.answer_in(
            s,
            core,
            ctx,
            challenge_id=tx,
            binding=binding,
            user_id=found.view.user_id,
            response=FactorResponse(code=cleaned),
            budgets=budgets,
        )
        result = Result(REJECT)
        if answered.ok and challenges.use(s, tx, binding):
            result = Result(ACCEPT)
        elif answered.throttled is not None and answered.state is ChallengeState.PENDING:
            result = Result(LOCKED, retry_after=answered.throttled.retry_after)
        audit(s, ctx, result, found.view.user_id, {**details, "reason": answered.reason})
    return result
