"""The sign-in transaction: password → (activation | second factor) → session.

A sign-in in progress is a server-side ``SignIn`` row keyed by the hash of a random token the
browser holds; it expires after ``signin_ttl_seconds``. Finishing it deletes the row and opens a
brand-new session (a new id: SES-02).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import passwordbudget, sessions, ways
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.factor import check_code
from portvakt.crypto import hashing, random
from portvakt.crypto.hashing import sha256_hex
from portvakt.directory.base import PasswordCheck, normalise_username
from portvakt.domain import SignInStage, UserRef
from portvakt.errors import Denied, Invalid, NotFound
from portvakt.methods.base import Grant
from portvakt.policy.engine import Decision
from portvakt.store.repos import credentials, signins, users

INVALID_CREDENTIALS = "invalid_credentials"


@dataclass(frozen=True, slots=True)
class Progress:
    stage: SignInStage
    signin_token: str | None = None  # cookie for the sign-in in progress
    session_token: str | None = None  # cookie for the new session once DONE
    device_token: str | None = None  # cookie for a newly remembered device
    wait: float = 0.0  # seconds the door holds the answer (the per-name delay)
    default_kind: str | None = None  # at FACTOR: the way in the second-factor page opens with


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    id: str
    user: UserRef
    stage: SignInStage
    decision: Decision
    pending_credential_id: int | None
    default_kind: str | None = None  # the way in the second-factor page opens with
    last_kind: str | None = None  # another way the person used last, as a hint


class WrongPassword(Denied):
    """``Denied(invalid_credentials)`` whose answer must wait ``wait`` seconds first (the
    per-name delay and the failure floor: ``core.passwordbudget``)."""

    def __init__(self, wait: float) -> None:
        super().__init__(INVALID_CREDENTIALS)
        self.wait = max(0.0, wait)


def submit_password(
    core: Core,
    ctx: Context,
    *,
    username: str,
    password: str,
    device_token: str | None,
    old_session: str | None = None,
) -> Progress:
    """Step 1. Unknown user, wrong password and disabled account all give the same
    ``WrongPassword`` after about the same time (RL-06); over a budget, ``Throttled``
    before the password is checked (RL-05). ``Progress.wait`` says how long the door must
    hold the answer (the per-name delay)."""
    try:
        name = normalise_username(username)
    except Invalid:
        name = ""  # can never exist: spend the hash time, never query the directory
    account = name or username[:256]
    admission = passwordbudget.admit(core, ctx, account, device_token)
    started = time.perf_counter()
    if name:
        found = core.directory.authenticate(name, password)
    else:
        hashing.burn_password_check(password)
        found = PasswordCheck(user=None, ok=False)
    if not found.ok or found.user is None or found.user.disabled:
        with core.store.write() as s:
            passwordbudget.failed(s, ctx, admission)
            reason = "disabled" if found.ok else "wrong_password_or_unknown"
            user_id = found.user.id if found.user is not None else None
            record(
                s,
                ctx,
                Event.SIGNIN_PASSWORD_FAILED,
                outcome="failure",
                user_id=user_id,
                details={"reason": reason},
            )
        spent = time.perf_counter() - started
        raise WrongPassword(max(admission.wait, passwordbudget.failure_floor(core) - spent))
    user = found.user
    with core.store.write() as s:
        passwordbudget.succeeded(s, admission)
        if found.new_hash is not None:
            users.rehash(s, user.id, found.new_hash)
        remembered = sessions.device_is_remembered(s, ctx, user_id=user.id, token=device_token)
        active = credentials.for_user(s, user.id, active_only=True)
        decision = ways.decision(core, ctx, user.id, remembered=remembered, active=active)
        record(s, ctx, Event.SIGNIN_PASSWORD_OK, user_id=user.id)
        if decision.enrollment_required:
            progress = _pending(s, ctx, user.id, SignInStage.ACTIVATION)
        elif decision.factor_required:
            default, _last = ways.offered_ways(core, active, decision.offered_kinds)
            progress = replace(_pending(s, ctx, user.id, SignInStage.FACTOR), default_kind=default)
        else:
            method = "remembered_device" if remembered else "password"
            progress = open_session(
                s, ctx, user.id, method=method, factor=False, remembered=remembered, old=old_session
            )
    return replace(progress, wait=admission.wait)


def load(core: Core, ctx: Context, token: str | None) -> PendingSignIn:
    """The sign-in in progress for this browser, or ``NotFound('signin_expired')``."""
    if not token or len(token) > 100:
        raise NotFound("signin_expired")
    with core.store.read() as s:
        row = signins.get(s, sha256_hex(token))
        if row is None or row.user_id is None or row.expires_at <= ctx.now():
            raise NotFound("signin_expired")
        user = users.by_id(s, row.user_id)
        if user is None or user.disabled:
            raise NotFound("signin_expired")
        active = credentials.for_user(s, user.id, active_only=True)
        decision = ways.decision(core, ctx, user.id, remembered=False, active=active)
        default, last = ways.offered_ways(core, active, decision.offered_kinds)
        return PendingSignIn(
            id=row.id,
            user=user,
            stage=row.stage,
            decision=decision,
            pending_credential_id=row.pending_credential_id,
            default_kind=default,
            last_kind=last,
        )


def submit_code(  # noqa: PLR0913 - keyword-only: the form and the browser's cookies
    core: Core,
    ctx: Context,
    pending: PendingSignIn,
    *,
    kind: str,
    code: str,
    remember: bool,
    old_session: str | None = None,
) -> Progress:
    """Step 2: the second factor, for a sign-in ``load`` found (``kind`` empty: any typed-code
    kind the person may use, tried at once and counted once). One transaction: the sign-in
    row is locked and checked again (cancelled or expired meanwhile: ``NotFound``), the code
    checked, the session opened. Wrong → ``Denied('wrong_code')``; locked → ``Throttled``."""
    offered = pending.decision.offered_kinds
    typed = tuple(k for k in core.registry.code_kinds(ctx.door.value) if k in offered)
    kinds = typed if not kind else (kind,) if kind in typed else ()
    if pending.stage is not SignInStage.FACTOR or not kinds:
        raise Denied("wrong_stage")
    with core.store.write() as s:
        lock(s, ctx, pending)
        outcome = check_code(s, core, ctx, user_id=pending.user.id, kinds=kinds, raw_code=code)
        if outcome.ok:
            method = outcome.kind or kinds[0]
            return finish_pending(
                s,
                ctx,
                pending,
                method=method,
                remember=remember,
                old_session=old_session,
                scope=core.registry.grants(method),
            )
    if outcome.throttled is not None:
        raise outcome.throttled
    raise Denied(outcome.reason or "wrong_code")


def lock(s: Session, ctx: Context, pending: PendingSignIn) -> None:
    """Lock the sign-in row inside the write that acts on it; ``NotFound('signin_expired')``
    when it was cancelled, finished or expired since ``load`` read it."""
    if not signins.lock(s, pending.id, pending.stage, ctx.now()):
        raise NotFound("signin_expired")


def skip_activation(
    core: Core, ctx: Context, *, token: str | None, old_session: str | None = None
) -> Progress:
    """Grace period: sign in without a method, if policy still allows it."""
    pending = load(core, ctx, token)
    if pending.stage is not SignInStage.ACTIVATION or not pending.decision.may_skip_enrollment:
        raise Denied("activation_required")
    with core.store.write() as s:
        lock(s, ctx, pending)
        signins.remove(s, pending.id)
        record(
            s,
            ctx,
            Event.ENROLLMENT_SKIPPED,
            user_id=pending.user.id,
            details={"days_left": pending.decision.grace_days_left},
        )
        return open_session(
            s, ctx, pending.user.id, method="password", factor=False, old=old_session
        )


def finish_pending(  # noqa: PLR0913 - keyword-only: how, and what the session may do
    s: Session,
    ctx: Context,
    pending: PendingSignIn,
    *,
    method: str,
    remember: bool = False,
    old_session: str | None = None,
    scope: Grant = Grant.FULL,
) -> Progress:
    """End a sign-in in progress with a proven second factor, inside the caller's transaction:
    the sign-in row goes (``NotFound`` if it already went or expired: the whole transaction is
    undone), a new session opens, the browser's old session ends and its apps' grants move;
    optionally this device is remembered for the policy's number of days. A ``scope`` other
    than full (a temporary access pass: it may only add a method) never remembers the device."""
    if not signins.finish(s, pending.id, ctx.now()):
        raise NotFound("signin_expired")
    device = None
    days = pending.decision.remember_device_days
    if remember and days > 0 and scope is Grant.FULL:
        device = sessions.remember_device(s, ctx, user_id=pending.user.id, days=days)
    done = open_session(
        s, ctx, pending.user.id, method=method, factor=True, old=old_session, scope=scope
    )
    return Progress(SignInStage.DONE, session_token=done.session_token, device_token=device)


def cancel(core: Core, token: str | None) -> None:
    if token and len(token) <= 100:
        with core.store.write() as s:
            signins.remove(s, sha256_hex(token))


# -- helpers -----------------------------------------------------------------------------------


def _pending(s: Session, ctx: Context, user_id: int, stage: SignInStage) -> Progress:
    token = random.token()
    now = ctx.now()
    signins.add(
        s,
        signin_id=sha256_hex(token),
        user_id=user_id,
        door=ctx.door.value,
        stage=stage,
        created_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.signin_ttl_seconds),
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:300] or None,
    )
    return Progress(stage, signin_token=token)


def open_session(  # noqa: PLR0913 - keyword-only: how, and the browser's old session
    s: Session,
    ctx: Context,
    user_id: int,
    *,
    method: str,
    factor: bool,
    remembered: bool = False,
    old: str | None = None,
    scope: Grant = Grant.FULL,
    password: bool = True,
) -> Progress:
    """A new session for a finished sign-in (``password``: it began with the password)."""
    token = sessions.create(
        s,
        ctx,
        user_id=user_id,
        method=method,
        factor=factor,
        remembered=remembered,
        scope=scope,
        password=password,
    )
    sessions.replace_in(s, ctx, old, token)
    details = None if scope is Grant.FULL else {"scope": scope.value}
    record(s, ctx, Event.SIGNIN_SUCCEEDED, user_id=user_id, method=method, details=details)
    return Progress(SignInStage.DONE, session_token=token)
