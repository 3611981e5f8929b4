"""Finishing with an approved challenge, for any kind that issues one: a sign-in in progress,
a step-up on Security info, or a validate-API transaction. Each is one transaction that moves
the challenge to ``used`` exactly once, so one approval can never finish two things."""

from __future__ import annotations

from portvakt.context import Context
from portvakt.core import answers, challenges, sessions, signin
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.sessions import SessionView
from portvakt.core.signin import PendingSignIn, Progress, finish_pending
from portvakt.domain import Purpose
from portvakt.errors import Denied, Invalid, Throttled
from portvakt.methods.base import FactorResponse
from portvakt.store.repos import challenges as challenge_rows
from portvakt.store.repos.challenges import Binding


def start_signin(core: Core, ctx: Context, pending: PendingSignIn, kind: str) -> challenges.Shown:
    """Send a challenge of ``kind`` for a sign-in whose password step passed."""
    if kind not in pending.decision.offered_kinds:
        raise Invalid("kind_not_allowed")
    binding = Binding(signin_id=pending.id)
    return challenges.issue(
        core, ctx, user=pending.user, kind=kind, purpose=Purpose.SIGNIN, binding=binding
    )


def start_default(core: Core, ctx: Context, token: str | None) -> challenges.Shown | None:
    """Right after the password: when the person's default way in issues a challenge (push),
    send it at once. None when it does not, or cannot now (paused, rate limited: the
    second-factor page then offers the ways in and says why when asked again)."""
    pending = signin.load(core, ctx, token)
    kind = pending.default_kind
    if kind is None or not core.registry.get(kind).capabilities.challenge:
        return None
    try:
        return start_signin(core, ctx, pending, kind)
    except (Invalid, Throttled):
        return None


def view_signin(core: Core, ctx: Context, pending: PendingSignIn, tx: str) -> challenges.Shown:
    return challenges.view(core, ctx, tx, Binding(signin_id=pending.id), pending.user.id)


def finish_signin(
    core: Core,
    ctx: Context,
    pending: PendingSignIn,
    tx: str,
    *,
    remember: bool = False,
    old_session: str | None = None,
) -> Progress:
    """The browser's last step: an approved challenge of *this* sign-in opens the session."""
    with core.store.write() as s:
        kind = challenge_rows.use(s, tx, Binding(signin_id=pending.id))
        if kind is None:
            raise Denied("push_not_approved")
        return finish_pending(
            s,
            ctx,
            pending,
            method=kind,
            remember=remember,
            old_session=old_session,
            scope=core.registry.grants(kind),
        )


def answer_signin(  # noqa: PLR0913 - keyword-only: how the sign-in ends
    core: Core,
    ctx: Context,
    pending: PendingSignIn,
    tx: str,
    response: FactorResponse,
    *,
    remember: bool = False,
    old_session: str | None = None,
) -> Progress:
    """An answer given in the browser (a typed SMS code, a WebAuthn assertion) to this
    sign-in's challenge: approved, it finishes the sign-in in the same transaction. Refused,
    ``Denied`` (or ``Throttled``) after the failure it counts is committed."""
    binding = Binding(signin_id=pending.id)
    with core.store.write() as s:
        answered = answers.answer_in(
            s,
            core,
            ctx,
            challenge_id=tx,
            binding=binding,
            user_id=pending.user.id,
            response=response,
        )
        if answered.ok and challenge_rows.use(s, tx, binding) is not None:
            return finish_pending(
                s, ctx, pending, method=answered.kind, remember=remember, old_session=old_session
            )
    _raise(answered)
    raise Denied("not_pending")  # approved, but used by a concurrent request


def _raise(answered: answers.Answered) -> None:
    if answered.throttled is not None:
        raise answered.throttled
    if not answered.ok:
        raise Denied(answered.reason or "wrong_answer")


def start_step_up(core: Core, ctx: Context, live: SessionView, kind: str) -> challenges.Shown:
    binding = Binding(session_id=live.id)
    return challenges.issue(
        core, ctx, user=live.user, kind=kind, purpose=Purpose.STEP_UP, binding=binding
    )


def view_step_up(core: Core, ctx: Context, live: SessionView, tx: str) -> challenges.Shown:
    return challenges.view(core, ctx, tx, Binding(session_id=live.id), live.user.id)


def finish_step_up(core: Core, ctx: Context, live: SessionView, tx: str) -> None:
    """An approved step-up challenge of this session counts as a fresh second factor."""
    with core.store.write() as s:
        kind = challenge_rows.use(s, tx, Binding(session_id=live.id))
        if kind is None:
            raise Denied("push_not_approved")
        record(s, ctx, Event.STEP_UP, user_id=live.user.id, method=kind)
        sessions.mark_factor_in(s, ctx, live.id, kind)


def answer_step_up(
    core: Core, ctx: Context, live: SessionView, tx: str, response: FactorResponse
) -> None:
    """An answer given in the browser to this session's step-up challenge: approved, it counts
    as a fresh second factor in the same transaction."""
    binding = Binding(session_id=live.id)
    with core.store.write() as s:
        answered = answers.answer_in(
            s, core, ctx, challenge_id=tx, binding=binding, user_id=live.user.id, response=response
        )
        if answered.ok and challenge_rows.use(s, tx, binding) is not None:
            record(s, ctx, Event.STEP_UP, user_id=live.user.id, method=answered.kind)
            sessions.mark_factor_in(s, ctx, live.id, answered.kind)
            return
    _raise(answered)
    raise Denied("not_pending")
