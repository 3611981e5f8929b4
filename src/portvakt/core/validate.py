"""The validate API's use-cases: check a typed code, or send a push and report its answer, for
an integration (door ``api``). The same lockout and rate limits as the sign-in pages apply,
because the code is checked by ``core.factor.check_code`` and the push by ``core.push``.

An unknown, disabled or malformed username is rejected after the same kind of work as a
wrong code (a code computation, the per-address rate limit, an audit row), so answers do not
tell which usernames exist."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import integrations, push, ratelimit, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.factor import address_key, check_subject
from portvakt.core.integrations import IntegrationView
from portvakt.crypto import random
from portvakt.directory.base import normalise_username
from portvakt.domain import CredentialState, CredentialView, Door
from portvakt.errors import Invalid, NotFound, Throttled
from portvakt.methods.base import FactorResponse
from portvakt.store.models import PushChallenge, User
from portvakt.store.repos import factors, users
from portvakt.store.repos.factors import FactorSubject

ACCEPT = "accept"
REJECT = "reject"
PENDING = "pending"
LOCKED = "locked"
PURPOSE = "api"
_DUMMY_SECRET = b"portvakt-validate-dummy-secret!!"


@dataclass(frozen=True, slots=True)
class Result:
    status: str
    transaction_id: str | None = None
    number: str | None = None  # the number to show the person (push number matching)
    retry_after: int | None = None

    def as_json(self) -> dict[str, str | int]:
        body: dict[str, str | int] = {"status": self.status}
        if self.transaction_id is not None:
            body["transaction_id"] = self.transaction_id
        if self.number is not None:
            body["number"] = self.number
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


def _locked(exc: Throttled) -> Result:
    return Result(LOCKED, retry_after=exc.retry_after)


def _user(s: Session, username: str, *, for_update: bool = False) -> User | None:
    try:
        name = normalise_username(username)
    except Invalid:
        return None
    row = users.by_username(s, name, for_update=for_update)
    return None if row is None or row.disabled else row


def _code_kinds(core: Core, subject: FactorSubject) -> list[str]:
    """Interactive kinds that serve this door and are allowed: the person's own, or the first
    one when the person has none (so the attempt is still checked and counted)."""
    usable = [
        kind
        for kind in core.registry.kinds()
        if kind in core.knobs.allowed_kinds
        and core.registry.get(kind).capabilities.interactive
        and Door.API.value in core.registry.get(kind).capabilities.doors
    ]
    own = {c.view.kind for c in subject.credentials}
    mine = [kind for kind in usable if kind in own]
    return mine or usable[:1]


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """One code check as an integration asked for it."""

    integration: IntegrationView
    key_digest: str  # the request's API key as stored; confirmed in the check's transaction
    username: str
    code: str


async def check(core: Core, ctx: Context, request: CodeCheck) -> Result | None:
    """``accept`` for a right code of one of the person's interactive kinds, ``locked`` while
    the second factor (or this address) is locked, ``reject`` otherwise; None when the
    integration's key no longer exists (it was deleted). One short write transaction, queued
    with others on SQLite (``Store.run_write``)."""
    return await core.store.run_write(lambda s: check_in(s, core, ctx, request))


def check_in(s: Session, core: Core, ctx: Context, request: CodeCheck) -> Result | None:
    """``check`` inside the caller's write transaction: one read of the person (lock state,
    credentials, the address counter) that also confirms the key, the code check, and the
    audit row."""
    found = _find(s, ctx, request)
    key_found = found.key_found if found is not None else None
    if key_found is None:  # nobody by that name: the key is asked about on its own
        key_found = integrations.is_current(s, request.integration, request.key_digest)
    if not key_found:
        return None
    details = {"integration": request.integration.name, "method": "code"}
    subject = None if found is None or found.disabled else found
    if subject is None:
        result = _unknown_user(s, core, ctx, request.code)
        user_id = None
    else:
        user_id = subject.user_id
        result = Result(REJECT)
        for kind in _code_kinds(core, subject):
            outcome = check_subject(s, core, ctx, subject, kind=kind, raw_code=request.code)
            if outcome.ok:
                result = Result(ACCEPT)
                details["method"] = kind
                break
            if outcome.throttled is not None:
                result = _locked(outcome.throttled)
                break
            # a failure moved the lock state and the address counter: read them again
            subject = factors.by_id(s, subject.user_id, rate_key=address_key(ctx)) or subject
    _audit(s, ctx, result, user_id, details)
    return result


def _find(s: Session, ctx: Context, request: CodeCheck) -> FactorSubject | None:
    """The person by that name (disabled too), with whether the request's key still exists."""
    try:
        name = normalise_username(request.username)
    except Invalid:
        return None
    key = (request.integration.id, request.key_digest)
    return factors.by_username(s, name, rate_key=address_key(ctx), key=key)


def _unknown_user(s: Session, core: Core, ctx: Context, code: str) -> Result:
    """As much work as a wrong code for a real person: the address limit, one code check
    against a throwaway secret, one counted failure for the address."""
    ip_key = address_key(ctx)
    window = ctx.settings.rate_window_seconds
    try:
        ratelimit.ensure_below(
            s, ip_key, limit=ctx.settings.code_failures_per_ip, now=ctx.now(), window=window
        )
    except Throttled as exc:
        return _locked(exc)
    kinds = [k for k in core.registry.kinds() if core.registry.get(k).capabilities.interactive]
    if kinds:
        method = core.registry.get(kinds[0])
        normalised = method.normalise_response(code)
        if normalised is not None:
            dummy = CredentialView(
                id=0,
                user_id=0,
                kind=kinds[0],
                label="",
                state=CredentialState.ACTIVE,
                is_default=True,
                params={},
                created_at=ctx.now(),
                last_used_at=None,
                secret=_DUMMY_SECRET,
            )
            method.verify(ctx, dummy, FactorResponse(code=normalised))
    ratelimit.hit(s, ip_key, now=ctx.now(), window=window)
    return Result(REJECT)


def start_push(core: Core, ctx: Context, integration: IntegrationView, username: str) -> Result:
    """Send a push to the person's devices: ``pending`` with the transaction id (and the number
    to show when number matching is on); ``reject`` when there is nobody to ask, ``locked``
    while the second factor is locked or pushes are paused or rate limited."""
    details = {"integration": integration.name, "method": "push"}
    with core.store.read() as s:
        user = _user(s, username)
        user_id = user.id if user is not None else None
        waiter = None
        locked: Throttled | None = None
        if user is not None:
            try:
                throttle.ensure_open(throttle.lock_of(user), ctx.now())
            except Throttled as exc:
                locked = exc
            else:
                bound = f"api:{integration.id}:{random.token(16)}"
                waiter = push.Waiter(user.id, user.username, bound, PURPOSE)
    result = Result(REJECT)
    if locked is not None:
        result = _locked(locked)
    elif waiter is not None:
        try:
            shown = push.start(core, ctx, waiter)
        except Throttled as exc:
            result = _locked(exc)
        except Invalid:  # no active push device, or push not allowed
            result = Result(REJECT)
        else:
            return Result(PENDING, transaction_id=shown.tx, number=shown.number)
    with core.store.write() as s:
        _audit(s, ctx, result, user_id, details)
    return result


def poll(core: Core, ctx: Context, integration: IntegrationView, tx: str) -> Result:
    """The state of a push this integration started. An approved push is consumed by the first
    read that sees it (``accept`` once); later reads get ``reject``."""
    prefix = f"api:{integration.id}:"
    with core.store.read() as s:
        row = s.get(PushChallenge, tx) if 0 < len(tx) <= 32 else None
        if row is None or row.purpose != PURPOSE or not (row.signin_id or "").startswith(prefix):
            raise NotFound("transaction_not_found")
        state, bound, user_id = row.state, row.signin_id or "", row.user_id
        expired = row.expires_at <= ctx.now()
    if state == push.PENDING:
        return Result(REJECT) if expired else Result(PENDING)
    if state != "approved":
        return Result(REJECT)
    details = {"integration": integration.name, "method": "push", "tx": tx}
    with core.store.write() as s:
        user = users.by_id(s, user_id)
        if user is None or user.disabled:
            result = Result(REJECT)
        else:
            result = Result(ACCEPT) if push.consume(s, tx, bound) == 1 else Result(REJECT)
        if result.status == ACCEPT or user is None or user.disabled:
            _audit(s, ctx, result, user_id, details)
    return result


def _audit(
    s: Session, ctx: Context, result: Result, user_id: int | None, details: dict[str, str]
) -> None:
    accepted = result.status == ACCEPT
    record(
        s,
        ctx,
        Event.VALIDATE_ACCEPTED if accepted else Event.VALIDATE_REJECTED,
        outcome="success" if accepted else "failure",
        user_id=user_id,
        method=details.get("method"),
        details={**details, "status": result.status},
    )
