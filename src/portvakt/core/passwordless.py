"""Signing in without a password, where policy allows it (``passwordless``): a passkey (a
discoverable credential unlocked with a PIN, fingerprint or face) names the person and proves
two factors at once. The sign-in page offers it in the username field's autofill and as a
button; the password form stays.

The challenge is stateless until it is used, so showing the sign-in page writes nothing: a
random nonce and its expiry, MACed with the server's hash key, travel in the page; using it
counts the nonce once (a rate counter), so one answer signs in once. The answer is then checked
like any other: the person's lock state and credentials read under their row lock, the method's
verdict applied by compare-and-set, a wrong answer counted once on the one lock state."""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import factor, ratelimit, signin, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed
from portvakt.crypto.hashing import sha256_hex
from portvakt.domain import ChallengeState, ChallengeView, CredentialState, Purpose
from portvakt.errors import Denied, Throttled
from portvakt.methods.base import FactorResponse, Method
from portvakt.store.repos import factors, users

SECONDS = 300  # how long the sign-in page's challenge may be answered
PURPOSE = "first-step"


@dataclass(frozen=True, slots=True)
class Offer:
    """What the sign-in page shows: the kind, its request options, the username field's
    autocomplete token, and the signed challenge the answer must come back with."""

    kind: str
    options: Mapping[str, Any]
    autocomplete: str
    token: str


def _kind(core: Core) -> str | None:
    if not core.knobs.passwordless:
        return None
    registry = core.registry
    return next(
        (
            k
            for k in registry.kinds()
            if k in core.knobs.allowed_kinds and registry.get(k).capabilities.first_step
        ),
        None,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def offer(core: Core, ctx: Context) -> Offer | None:
    """A passwordless offer for the sign-in page, or None when policy or kinds allow none."""
    kind = _kind(core)
    if kind is None:
        return None
    nonce = secrets.token_bytes(32)
    expires = int(ctx.now().timestamp()) + SECONDS
    body = f"{_b64(nonce)}.{expires}"
    mac = ctx.box.keyed_hash(body.encode(), purpose=PURPOSE)
    shown = core.registry.get(kind).first_step_options(ctx, nonce)
    return Offer(kind, shown["options"], str(shown.get("autocomplete", "")), f"{body}.{mac}")


def _nonce(ctx: Context, token: str) -> str | None:
    """The challenge a token carries, if this server signed it and it has not expired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    body = f"{parts[0]}.{parts[1]}"
    wanted = ctx.box.keyed_hash(body.encode(), purpose=PURPOSE)
    if not hmac.compare_digest(parts[2], wanted):
        return None
    if int(parts[1]) <= ctx.now().timestamp():
        return None
    return parts[0]


def sign_in(
    core: Core,
    ctx: Context,
    *,
    kind: str,
    token: str,
    response: FactorResponse,
    old_session: str | None = None,
) -> signin.Progress:
    """A passkey's answer to the sign-in page's challenge opens a session. ``Denied`` for an
    answer that does not sign anyone in (what it failed is audited), ``Throttled`` while the
    person's lock or the address's budget is closed."""
    if kind != _kind(core):
        raise Denied("passkey_refused")
    nonce = _nonce(ctx, token)
    if nonce is None:
        raise Denied("passkey_expired")
    method = core.registry.get(kind)
    user_id = method.identify(ctx, response)
    with core.store.write() as s:
        fresh = ratelimit.hit(s, f"first-step:{sha256_hex(nonce)}", now=ctx.now(), window=SECONDS)
        found = (
            _check(s, core, ctx, method, kind=kind, nonce=nonce, user_id=user_id, response=response)
            if fresh == 1
            else None
        )
        if isinstance(found, int):
            record(s, ctx, Event.SIGNIN_PASSWORDLESS, user_id=found, method=kind)
            return signin.open_session(
                s, ctx, found, method=kind, factor=True, old=old_session, password=False
            )
        if fresh != 1:
            record(s, ctx, Event.FACTOR_REPLAY, outcome="failure", user_id=user_id, method=kind)
    if isinstance(found, Throttled):
        raise found
    raise Denied("passkey_refused")


def _check(  # noqa: PLR0913 - one answer's parts
    s: Session,
    core: Core,
    ctx: Context,
    method: Method,
    *,
    kind: str,
    nonce: str,
    user_id: int | None,
    response: FactorResponse,
) -> int | Throttled | None:
    """The person's id when the answer signs them in; the refusal otherwise (counted)."""
    budgets = (factor.address_budget(ctx),)
    subject = factors.by_id(s, user_id, rate_keys=factor.keys_of(budgets)) if user_id else None
    user = users.by_id(s, user_id) if user_id else None
    if subject is None or user is None or user.disabled:
        details = {"reason": "unknown_user" if user is None else "disabled"}
        record(s, ctx, Event.FACTOR_FAILED, outcome="failure", method=kind, details=details)
        factor.spend(s, ctx, budgets)
        return None
    try:
        factor.gate(ctx, subject.lock, subject.counters, budgets)
    except Throttled as exc:
        record(s, ctx, Event.SIGNIN_THROTTLED, outcome="failure", user_id=user.id, method=kind)
        return exc
    sealed = {
        c.view.id: c
        for c in subject.credentials
        if c.view.kind == kind and c.view.state is CredentialState.ACTIVE
    }
    views = [open_sealed(ctx, c) for c in sealed.values()]
    now = ctx.now()
    challenge = ChallengeView(
        id=f"first-{nonce[:16]}",
        kind=kind,
        user_id=user.id,
        purpose=Purpose.SIGNIN,
        state=ChallengeState.PENDING,
        credential_id=None,
        data={"challenge": nonce, "uv": True},
        created_at=now,
        expires_at=datetime.fromtimestamp(now.timestamp() + SECONDS, UTC),
    )
    cred = method.answering_credential(challenge, response, views)
    verdict = method.verify(ctx, cred, challenge, response) if cred is not None else None
    ok = verdict is not None and cred is not None and verdict.ok
    if ok and verdict is not None and cred is not None:
        taken = factor.apply_verdict(s, ctx, sealed[cred.id], verdict)
    else:
        taken = False
    if taken:
        if subject.lock.failures:
            factors.save_lock(s, user.id, replace(subject.lock, failures=0))
        return user.id
    reason = verdict.reason if verdict is not None else "unknown_credential"
    record(
        s,
        ctx,
        Event.FACTOR_FAILED,
        outcome="failure",
        user_id=user.id,
        method=kind,
        credential_id=cred.id if cred is not None else None,
        details={"reason": reason, "passwordless": True},
    )
    factor.spend(s, ctx, budgets)
    lock, throttled = throttle.failed(s, ctx, user.id, subject.lock, core.knobs, method=kind)
    factors.save_lock(s, user.id, lock)
    return throttled
