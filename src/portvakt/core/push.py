"""Push approval at sign-in: send, answer, wait, finish (docs/protocol.md).

A challenge row is the server-side truth. The number shown in the browser is derived from
the challenge id with a keyed hash, so the page can be reloaded and still show it, while the
app never receives it (PUSH-01, PUSH-05). Answers are verified with the device key registered
at activation (PUSH-02) and move the row out of ``pending`` exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from user_agents import parse

from portvakt import protocol, wire
from portvakt.context import Context
from portvakt.core import ratelimit, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.pushdevice import Device, challenge_data, number_for
from portvakt.core.sessions import SessionView
from portvakt.core.signin import PendingSignIn, Progress, finish_pending
from portvakt.errors import Denied, Invalid, NotFound, Throttled
from portvakt.methods.push.method import PushMethod
from portvakt.store.models import PushChallenge, WebSession
from portvakt.store.repos import credentials

PENDING = "pending"
MAX_TX = 32  # a challenge id (protocol.new_id: 22 characters) fits push_challenge.id
TERMINAL = frozenset({"approved", "denied", "failed", "expired", "superseded", "used"})


@dataclass(frozen=True, slots=True)
class PushView:
    """What the waiting browser shows."""

    tx: str
    number: str
    state: str
    expires_at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class Waiter:
    """What a challenge is bound to: a sign-in in progress, or a session stepping up."""

    user_id: int
    username: str
    bound_to: str  # the SignIn id, or the web session id
    purpose: str  # "signin" or "stepup"


def for_signin(pending: PendingSignIn) -> Waiter:
    return Waiter(pending.user.id, pending.user.username, pending.id, "signin")


def for_step_up(live: SessionView) -> Waiter:
    return Waiter(live.user.id, live.user.username, live.id, "stepup")


def start(core: Core, ctx: Context, waiter: Waiter) -> PushView:
    """Send a challenge to every active device of the person (for a sign-in: only after the
    password)."""
    settings = ctx.settings
    now = ctx.now()
    with core.store.write() as s:
        active = [
            r for r in credentials.for_user(s, waiter.user_id, active_only=True) if r.kind == "push"
        ]
        if not active or "push" not in core.knobs.allowed_kinds:
            raise Invalid("kind_not_allowed")
        blocked = _fatigue(s, ctx, waiter.user_id)
        if blocked is None:
            superseded = _supersede(s, waiter.user_id)
            row = PushChallenge(
                id=protocol.new_id(),
                user_id=waiter.user_id,
                signin_id=waiter.bound_to,
                purpose=waiter.purpose,
                nonce=protocol.new_id(),
                match_mode=settings.push_match_mode,
                digits=settings.push_number_digits,
                context=_context(core, ctx, waiter.username),
                state=PENDING,
                created_at=now,
                expires_at=now + timedelta(seconds=settings.push_challenge_seconds),
            )
            number = number_for(ctx, row.id, row.digits)
            row.number_digest = protocol.number_digest(number, row.nonce)
            row.choices = (
                protocol.pick_choices(number) if row.match_mode == protocol.MatchMode.PICK else []
            )
            s.add(row)
            record(
                s,
                ctx,
                Event.PUSH_SENT,
                user_id=waiter.user_id,
                method="push",
                details={"tx": row.id, "purpose": waiter.purpose},
            )
            shown = PushView(row.id, number, PENDING, row.expires_at, None)
    if blocked is not None:
        raise blocked
    for tx in superseded:
        _announce(core, waiter.user_id, tx, "superseded")
    core.notifier.publish(
        f"user:{waiter.user_id}", json.dumps({"type": "challenge", "tx": shown.tx})
    )
    return shown


def view(core: Core, ctx: Context, waiter: Waiter, tx: str) -> PushView:
    """The waiter's challenge with its state (``expired`` once past its time)."""
    with core.store.read() as s:
        row = s.get(PushChallenge, tx)
        if row is None or row.signin_id != waiter.bound_to or row.user_id != waiter.user_id:
            raise NotFound("push_not_found")
        state = row.state
        if state == PENDING and row.expires_at <= ctx.now():
            state = "expired"
        return PushView(
            row.id, number_for(ctx, row.id, row.digits), state, row.expires_at, row.reason
        )


def finish_step_up(core: Core, ctx: Context, live: SessionView, tx: str) -> None:
    """An approved step-up challenge of this session counts as a fresh second factor."""
    with core.store.write() as s:
        if consume(s, tx, live.id) != 1:
            raise Denied("push_not_approved")
        record(s, ctx, Event.STEP_UP, user_id=live.user.id, method="push")
        session_row = s.get(WebSession, live.id)
        if session_row is not None:
            session_row.factor_at = ctx.now()
            session_row.method = "push"


def consume(s: Session, tx: str, bound_to: str) -> int:
    """Move an approved challenge to ``used`` exactly once (compare-and-set); 1 if it was."""
    result = s.execute(
        update(PushChallenge)
        .where(
            PushChallenge.id == tx,
            PushChallenge.signin_id == bound_to,
            PushChallenge.state == "approved",
        )
        .values(state="used")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def finish(
    core: Core, ctx: Context, pending: PendingSignIn, tx: str, *, remember: bool = False
) -> Progress:
    """The browser's last step: an approved challenge of *this* sign-in opens the session.
    The challenge is consumed (``used``), so it cannot finish a second sign-in."""
    with core.store.write() as s:
        if consume(s, tx, pending.id) != 1:
            raise Denied("push_not_approved")
        return finish_pending(s, ctx, pending, method="push", remember=remember)


def answer(core: Core, ctx: Context, token: str, device: Device) -> str:
    """Apply a device's verified answer. Returns the new state; raises ``Denied`` with the
    protocol's error code for anything refused (audited)."""
    claims = device.verify(token, protocol.MessageType.ANSWER)
    try:
        tx = wire.token(claims.get("tx"), max_length=MAX_TX)
    except wire.Malformed as exc:
        raise Denied("malformed") from exc
    with core.store.write() as s:
        row = s.get(PushChallenge, tx, with_for_update=True)
        refusal = _refusal(ctx, row, device)
        if refusal is not None or row is None:
            record(
                s,
                ctx,
                Event.PUSH_REFUSED,
                outcome="failure",
                user_id=device.user_id,
                method="push",
                details={"tx": tx[:40], "reason": refusal},
            )
        else:
            outcome, reason = PushMethod().check_answer(
                claims, challenge_data(ctx, row), require_uv=core.knobs.push_require_uv
            )
            _apply(s, core, ctx, row, device, (outcome, reason, claims.get("uv") is True))
    if refusal is not None or row is None:
        raise Denied(refusal or "not_pending")
    _announce(core, row.user_id, tx, outcome)
    if outcome == "failed":
        raise Denied(reason)
    return outcome


def _refusal(ctx: Context, row: PushChallenge | None, device: Device) -> str | None:
    if row is None or row.user_id != device.user_id:
        return "not_pending"
    if row.purpose == "activation" and row.credential_id != device.credential_id:
        return "not_pending"
    if row.purpose != "activation" and not device.active:
        return "unauthorized"
    if row.state != PENDING:
        return "not_pending"
    if row.expires_at <= ctx.now():
        return "expired"
    return None


def _apply(
    s: Session,
    core: Core,
    ctx: Context,
    row: PushChallenge,
    device: Device,
    result: tuple[str, str, bool],
) -> None:
    outcome, reason, uv = result
    row.state = outcome
    row.reason = reason or None
    row.answered_at = ctx.now()
    row.answered_by = device.credential_id
    row.user_verified = uv and outcome == "approved"
    details = {"tx": row.id, "purpose": row.purpose, "reason": reason, "context": row.context}
    if outcome == "approved":
        record(
            s,
            ctx,
            Event.PUSH_APPROVED,
            user_id=row.user_id,
            method="push",
            credential_id=device.credential_id,
            details=details,
        )
        device.mark_used(s, ctx, activate=row.purpose == "activation")
    elif outcome == "denied":
        event = Event.PUSH_FRAUD if reason == protocol.DenyReason.NOT_ME else Event.PUSH_DENIED
        record(
            s,
            ctx,
            event,
            outcome="failure",
            user_id=row.user_id,
            method="push",
            credential_id=device.credential_id,
            details=details,
        )
        if reason == protocol.DenyReason.NOT_ME:
            ratelimit.hit(
                s,
                f"push-pause:{row.user_id}",
                now=ctx.now(),
                window=ctx.settings.push_pause_minutes * 60,
            )
    else:
        record(
            s,
            ctx,
            Event.FACTOR_FAILED,
            outcome="failure",
            user_id=row.user_id,
            method="push",
            credential_id=device.credential_id,
            details=details,
        )
        if row.purpose != "activation" and reason == "wrong_number":
            user = device.user_row(s)
            if user is not None:
                throttle.register_failure(s, ctx, user, core.knobs, method="push")


def _fatigue(s: Session, ctx: Context, user_id: int) -> Throttled | None:
    """PUSH-03/04: paused after "not me"; at most N unanswered requests and M denials per
    window since the last successful push."""
    settings = ctx.settings
    now = ctx.now()
    paused, started = ratelimit.current(
        s, f"push-pause:{user_id}", now=now, window=settings.push_pause_minutes * 60
    )
    if paused:
        until = started + timedelta(minutes=settings.push_pause_minutes)
        return Throttled("push_paused", retry_after=int((until - now).total_seconds()))
    since = now - timedelta(seconds=settings.push_window_seconds)
    rows = list(
        s.scalars(
            select(PushChallenge)
            .where(
                PushChallenge.user_id == user_id,
                PushChallenge.purpose != "activation",
                PushChallenge.created_at > since,
            )
            .order_by(PushChallenge.created_at.desc())
        )
    )
    recent = []
    for row in rows:
        if row.state in {"approved", "used"}:
            break  # a success resets the count
        recent.append(row)
    retry = int(settings.push_window_seconds)
    if sum(r.state == "denied" for r in recent) >= settings.push_max_denials:
        return Throttled("push_cooldown", retry_after=retry)
    if len(recent) >= settings.push_max_unanswered:
        return Throttled("push_rate_limited", retry_after=retry)
    return None


def _supersede(s: Session, user_id: int) -> list[str]:
    """PUSH-06: a new sign-in attempt ends the person's older pending sign-in challenges."""
    rows = list(
        s.scalars(
            select(PushChallenge).where(
                PushChallenge.user_id == user_id,
                PushChallenge.state == PENDING,
                PushChallenge.purpose != "activation",
            )
        )
    )
    for row in rows:
        row.state = "superseded"
    return [row.id for row in rows]


def _announce(core: Core, user_id: int, tx: str, state: str) -> None:
    message = json.dumps({"type": "answered", "tx": tx, "state": state})
    core.notifier.publish(f"tx:{tx}", message)
    core.notifier.publish(f"user:{user_id}", message)


def _context(core: Core, ctx: Context, username: str) -> dict[str, str]:
    agent = parse(ctx.user_agent or "")
    city, country = core.locator.locate(ctx.ip or "")
    place = {"city": city, "country": country}
    return {
        **{key: value for key, value in place.items() if value},
        "account": username,
        "service": ctx.settings.issuer,
        "ip": ctx.ip or "",
        "browser": f"{agent.browser.family} {agent.browser.version_string}".strip(),
        "os": f"{agent.os.family} {agent.os.version_string}".strip(),
        "time": ctx.now().isoformat(timespec="seconds"),
    }
