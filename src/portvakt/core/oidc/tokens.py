"""The token endpoint: authorization code (with PKCE), refresh token (rotating) and client
credentials grants. Codes and refresh tokens are single use; presenting one a second time
revokes the whole grant, with every token issued from it (OAuth 2.0 Security BCP 4.12, RFC
6749 4.1.2).

An exchange is one job on the store's write queue (``Store.run_write``): the client is
authenticated, the request checked and the grant spent in one transaction, and every refusal
is returned from the job, not raised, so what it writes (a failed client login counted and
audited, a grant revoked on reuse) is committed with it. Nothing is claimed before every
check that can refuse the request has passed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core import ratelimit
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc import clients, grants, keys
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.core.oidc.grants import NeedSigner, Signer
from portvakt.crypto import compare
from portvakt.store.repos import oidc

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
MAX_CLIENT_ID = 64
MAX_SECRET = 256
MAX_VIEWS = 1024
_CLIENT_ID_AT = oidc.CLIENT_COLUMNS.index("client_id")
# (stored columns, view, secret hash) per client_id: ``clients.view`` of a row is built once,
# and used only while the row read in the exchange's transaction is still equal to it
_views: dict[str, tuple[tuple[Any, ...], ClientView, str | None]] = {}

Answer = dict[str, Any] | OAuthError | NeedSigner


@dataclass(frozen=True, slots=True)
class Caller:
    """Who the request says it comes from (client_secret_basic/post, or a public client's
    bare ``client_id``); checked inside the exchange."""

    client_id: str | None
    secret: str | None


async def exchange_async(
    core: Core, ctx: Context, caller: Caller, form: Mapping[str, str]
) -> dict[str, Any]:
    """Authenticate ``caller`` and answer its token request (RFC 6749 §3.2, §4.1.3, §4.4,
    §6) through the write queue. Raises ``OAuthError``."""
    secret = caller.secret
    digest = clients.secret_hash(ctx, secret) if secret and len(secret) <= MAX_SECRET else ""
    signers = _cached_signers(core, ctx, caller.client_id)
    for _ in range(3):
        result = await core.store.run_write(_job(ctx, caller, digest, form, signers))
        if not isinstance(result, NeedSigner):
            if isinstance(result, OAuthError):
                raise result
            return result
        # the first exchange of this client here, or its key cache has expired: fetch the
        # key (which may read or create it) outside the write transaction, then run again
        kid, key = await to_thread.run_sync(keys.signing_key, core, ctx, result.alg)
        signers = {**signers, result.alg: Signer(result.alg, kid, key)}
    raise RuntimeError("the client's signing algorithm kept changing")


def _cached_signers(core: Core, ctx: Context, client_id: str | None) -> dict[str, Signer]:
    """The signing key for the algorithm this client was last seen with, if the key cache
    has it (no database read on the event loop)."""
    seen = _views.get(client_id or "")
    if seen is None:
        return {}
    alg = seen[1].id_token_alg
    cached = keys.cached_signing_key(core, ctx, alg)
    return {} if cached is None else {alg: Signer(alg, *cached)}


def _job(
    ctx: Context,
    caller: Caller,
    digest: str,
    form: Mapping[str, str],
    signers: Mapping[str, Signer],
) -> Callable[[Session], Answer]:
    def job(s: Session) -> Answer:
        client = authenticate(s, ctx, caller, digest)
        if isinstance(client, OAuthError):
            return client
        grant_type = form.get("grant_type")
        refusal = _grant_type_refusal(client, grant_type)
        if refusal is not None:
            return refusal
        if grant_type == "client_credentials":
            return grants.client_credentials(s, ctx, client, form)
        signer = signers.get(client.id_token_alg)
        if grant_type == "authorization_code":
            return grants.code(s, ctx, client, form, signer)
        return grants.refresh(s, ctx, client, form, signer)

    return job


def _grant_type_refusal(client: ClientView, grant_type: str | None) -> OAuthError | None:
    if not grant_type:
        return OAuthError("invalid_request", "grant_type is missing.")
    if grant_type not in GRANT_TYPES:
        return OAuthError("unsupported_grant_type", "This grant type is not supported.")
    if grant_type not in client.grants:
        return OAuthError("unauthorized_client", "This client may not use this grant type.")
    return None


def authenticate(s: Session, ctx: Context, caller: Caller, digest: str) -> ClientView | OAuthError:
    """The calling client, in the exchange's transaction: by its secret's keyed hash
    (``digest``), or by ``client_id`` alone for a public client. Failed client logins count
    against the caller's address, the budget ``clients.authenticate`` keeps for introspection
    and revocation (``code_failures_per_ip`` per window; then 429), and are audited."""
    key = clients.failure_key(ctx)
    settings, now = ctx.settings, ctx.now()
    client_id = caller.client_id if caller.client_id else None
    if client_id is not None and len(client_id) > MAX_CLIENT_ID:
        client_id = None
    stored = oidc.client(s, client_id, rate_key=key)
    failures = _failures(ctx, stored.counter)
    if failures >= settings.code_failures_per_ip:
        return OAuthError("invalid_client", "Too many failed client logins; wait.", status=429)
    found = _view(stored)
    if found is not None:
        client, secret_hash = found
        if client.public and not caller.secret:
            return client
        if secret_hash and digest and compare.equal(digest, secret_hash):
            return client
    ratelimit.hit(s, key, now=now, window=settings.rate_window_seconds)
    details = {"client_id": (caller.client_id or "")[:MAX_CLIENT_ID]}
    record(s, ctx, Event.CLIENT_AUTH_FAILED, outcome="failure", details=details)
    return OAuthError("invalid_client", "Unknown client or wrong credentials.", status=401)


def _failures(ctx: Context, counter: tuple[int, Any] | None) -> int:
    """The count in the current window (as ``ratelimit.current``)."""
    if counter is None:
        return 0
    count, started = counter
    window = ctx.settings.rate_window_seconds
    stale = (ctx.now() - started).total_seconds() > window
    return 0 if stale else int(count)


def _view(stored: oidc.StoredClient) -> tuple[ClientView, str | None] | None:
    """``clients.view`` of the stored row and its secret hash; from ``_views`` while the row
    is unchanged (a rotated secret, any change at all, gives a new view at once)."""
    if stored.columns is None:
        return None
    client_id = stored.columns[_CLIENT_ID_AT]
    seen = _views.get(client_id)
    if seen is not None and seen[0] == stored.columns:
        return seen[1], seen[2]
    row = stored.row()
    assert row is not None
    view = clients.view(row)
    if len(_views) >= MAX_VIEWS:
        _views.clear()
    _views[client_id] = (stored.columns, view, row.secret_hash)
    return view, row.secret_hash
