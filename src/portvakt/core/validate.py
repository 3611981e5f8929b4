"""The validate API's use-cases: check a typed code, or send a push and report its answer, for
an integration (door ``api``). The same lockout as the sign-in pages applies, because the code
is checked by ``core.factor.check_subject`` and the push by ``core.push``.

Wrong codes spend the integration's own budget (``code_failures_per_integration`` per
window), not the per-address budget of the integration's address: a VPN gateway sends everyone's
requests from one address, which one attacker could otherwise spend for all of its users. When
the integration is trusted for it (``trust_client_ip``), the ``client_ip`` it sends is the end
user's address: it spends that address's budget too (``code_failures_per_ip``, shared with the
pages), and it is the address the audit rows and the push request show. From any other
integration ``client_ip`` is ignored, and the audit row says so.

An unknown, disabled or malformed username spends the same budgets, after the same kind of work,
and locks after the same number of wrong codes as a person (``core.namelock``), so answers do
not tell which usernames exist."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import challenges, integrations, namelock, throttle
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.factor import Budget, address_budget, check_subject, keys_of
from portvakt.core.integrations import IntegrationView
from portvakt.directory.base import normalise_username
from portvakt.domain import ChallengeState, Door, Purpose, UserAccount
from portvakt.errors import Invalid, NotFound, Throttled
from portvakt.store.repos import challenges as challenge_rows
from portvakt.store.repos import factors, users
from portvakt.store.repos.challenges import Binding
from portvakt.store.repos.factors import FactorSubject

ACCEPT = "accept"
REJECT = "reject"
PENDING = "pending"
LOCKED = "locked"
MAX_CLIENT_IP = 45  # the longest text form of an IPv6 address (IPv4-mapped, in full)


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


def _account(s: Session, username: str) -> UserAccount | None:
    try:
        name = normalise_username(username)
    except Invalid:
        return None
    found = users.account_by_username(s, name)
    return None if found is None or found.user.disabled else found


def _code_kinds(core: Core) -> tuple[str, ...]:
    """Typed-code kinds that serve this door and are allowed. A person with none of them is
    still checked and counted (nothing matches)."""
    kinds = core.registry.code_kinds(Door.API.value)
    allowed = core.knobs.allowed_kinds
    return kinds if allowed.issuperset(kinds) else tuple(k for k in kinds if k in allowed)


def client_address(value: str) -> str:
    """An end user's address as an integration sent it, in the form its budget is counted
    under: an IPv4 or IPv6 address in canonical text (an IPv4-mapped IPv6 address as IPv4), so
    that every spelling of one address spends one budget. ``Invalid`` for anything else, an
    IPv6 zone (``%eth0``) included."""
    if len(value) > MAX_CLIENT_IP:
        raise Invalid("invalid_client_ip")
    try:
        address = ipaddress.ip_address(value)
    except ValueError as exc:
        raise Invalid("invalid_client_ip") from exc
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            raise Invalid("invalid_client_ip")
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
    return str(address)


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """One code check as an integration asked for it."""

    integration: IntegrationView
    key_digest: str  # the request's API key as stored; confirmed in the check's transaction
    username: str
    code: str
    client_ip: str | None = None  # the end user's address, as ``client_address`` gives it


def integration_key(integration: IntegrationView) -> str:
    """The rate counter of wrong codes through one integration, whatever their address."""
    return f"code-integration:{integration.id}"


def _budgets(ctx: Context, request: CodeCheck) -> tuple[Budget, ...]:
    """The integration's budget, then the end user's address's if a client_ip was sent (it
    is dropped again unless the integration trusts it)."""
    limit = ctx.settings.code_failures_per_integration
    own = Budget(integration_key(request.integration), limit)
    return (own,) if request.client_ip is None else (own, address_budget(ctx, request.client_ip))


def _source(
    ctx: Context, integration: IntegrationView, client_ip: str | None, *, trusted: bool
) -> tuple[Context, dict[str, str]]:
    """The context to check and audit with (the end user's address when a trusted client_ip
    was sent) and the audit details that say where the request came from."""
    details = {"integration": integration.name}
    if client_ip is None:
        return ctx, details
    if trusted:
        details["integration_ip"] = ctx.ip or ""
        return replace(ctx, ip=client_ip), details
    details["client_ip_ignored"] = client_ip
    return ctx, details


async def check(core: Core, ctx: Context, request: CodeCheck) -> Result | None:
    """``accept`` for a right code of one of the person's interactive kinds, ``locked`` while
    the second factor (or a budget) is locked, ``reject`` otherwise; None when the
    integration's key no longer exists (it was deleted). One short write transaction, queued
    with others on SQLite (``Store.run_write``)."""
    return await core.store.run_write(lambda s: check_in(s, core, ctx, request))


def check_in(s: Session, core: Core, ctx: Context, request: CodeCheck) -> Result | None:
    """``check`` inside the caller's write transaction: one read of the person (lock state,
    credentials, the budgets' counters) that also confirms the key and reads whether its
    integration trusts client_ip, the code check, and the audit row."""
    budgets = _budgets(ctx, request)
    found = _find(s, request, keys_of(budgets))
    if found is not None:
        key_found, trusted = found.key_found, found.trusts_client_ip
    else:  # nobody by that name: the key is asked about on its own
        trust = integrations.trust_of(s, request.integration, request.key_digest)
        key_found, trusted = trust is not None, bool(trust)
    if not key_found:
        return None
    trusted = trusted and request.client_ip is not None
    budgets = budgets if trusted else budgets[:1]
    ctx, details = _source(ctx, request.integration, request.client_ip, trusted=trusted)
    details["method"] = "code"
    subject = None if found is None or found.disabled else found
    if subject is None:
        outcome = namelock.check(s, core, ctx, request.username, request.code, budgets)
        result = Result(REJECT) if outcome.throttled is None else _locked(outcome.throttled)
        user_id = None
    else:
        user_id = subject.user_id
        if len(subject.counters) != len(budgets):  # an untrusted client_ip's counter
            subject = replace(subject, counters=subject.counters[: len(budgets)])
        kinds = _code_kinds(core)
        outcome = check_subject(
            s, core, ctx, subject, kinds=kinds, raw_code=request.code, budgets=budgets
        )
        result = Result(REJECT)
        if outcome.ok:
            result = Result(ACCEPT)
            details["method"] = outcome.kind or kinds[0]
        elif outcome.throttled is not None:
            result = _locked(outcome.throttled)
    audit(s, ctx, result, user_id, details)
    return result


def _find(s: Session, request: CodeCheck, rate_keys: tuple[str, ...]) -> FactorSubject | None:
    """The person by that name (disabled too), with whether the request's key still exists."""
    try:
        name = normalise_username(request.username)
    except Invalid:
        return None
    key = (request.integration.id, request.key_digest)
    return factors.by_username(s, name, rate_keys=rate_keys, key=key)


def start_challenge(
    core: Core,
    ctx: Context,
    integration: IntegrationView,
    username: str,
    kind: str,
    client_ip: str | None = None,
) -> Result:
    """Send a challenge of ``kind`` (a push) to the person: ``pending`` with the transaction id
    (and the number to show when number matching is on); ``reject`` when there is nobody to ask,
    ``locked`` while the second factor (or the name, for nobody) is locked or the method
    refuses for now (push paused or rate limited). A trusted ``client_ip`` is the address the
    request shows."""
    with core.store.read() as s:
        trusted = client_ip is not None and integrations.trusts_client_ip(s, integration)
        ctx, details = _source(ctx, integration, client_ip, trusted=trusted)
        details["method"] = kind
        account = _account(s, username)
        user = account.user if account is not None else None
        user_id = user.id if user is not None else None
        lock = namelock.lock_of(s, ctx, username) if account is None else account.lock
    result = Result(REJECT)
    try:
        throttle.ensure_open(lock, ctx.now())
        if user is not None:
            shown = challenges.issue(
                core,
                ctx,
                user=user,
                kind=kind,
                purpose=Purpose.API,
                binding=Binding(integration_id=integration.id),
            )
            number = shown.prompt.get("number")
            return Result(PENDING, transaction_id=shown.id, number=number)
    except Throttled as exc:
        result = _locked(exc)
    except Invalid:  # no active credential of the kind, or the kind not allowed
        result = Result(REJECT)
    with core.store.write() as s:
        audit(s, ctx, result, user_id, details)
    return result


def poll(core: Core, ctx: Context, integration: IntegrationView, tx: str) -> Result:
    """The state of a challenge this integration started. An approved one is used by the first
    read that sees it (``accept`` once); later reads get ``reject``."""
    binding = Binding(integration_id=integration.id)
    with core.store.read() as s:
        found = challenge_rows.get(s, tx)
    if found is None or found.binding != binding or found.view.purpose is not Purpose.API:
        raise NotFound("transaction_not_found")
    row = found.view
    if row.state is ChallengeState.PENDING:
        return Result(REJECT) if row.expires_at <= ctx.now() else Result(PENDING)
    if row.state is not ChallengeState.APPROVED:
        return Result(REJECT)
    details = {"integration": integration.name, "method": row.kind, "tx": tx}
    with core.store.write() as s:
        user = users.by_id(s, row.user_id)
        if user is None or user.disabled:
            result = Result(REJECT)
        else:
            result = Result(ACCEPT) if challenges.use(s, tx, binding) else Result(REJECT)
        if result.status == ACCEPT or user is None or user.disabled:
            audit(s, ctx, result, row.user_id, details)
    return result


def audit(
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
