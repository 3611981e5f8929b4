"""Apps that sign people in through Portvakt (OAuth clients).

A confidential client's secret is 256 random bits, shown once and stored as a keyed hash
(purpose ``oidc-client``); a keyed hash rather than argon2 because the secret is random, not
chosen by a person, so it cannot be guessed, only stolen. Redirect URIs: ``redirects``.

PKCE (S256) is required of every app, except a confidential one registered with
``allow_without_pkce`` (for apps that cannot send it, such as Moodle's auth_oidc): it must
then send a ``nonce``, which binds the ID token to the browser's request (OAuth 2.0 Security
BCP 2.1.1). A public app can never be exempt: PKCE is all that protects its codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portvakt.context import Context
from portvakt.core import ratelimit
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc.errors import OAuthError
from portvakt.core.oidc.levels import Level
from portvakt.core.oidc.redirects import check_redirect_uri
from portvakt.crypto import compare, random
from portvakt.errors import Conflict, Invalid, NotFound
from portvakt.store.errors import Duplicate
from portvakt.store.repos import oidc_clients as stored
from portvakt.store.repos.oidc_clients import ClientRow

SCOPES = ("openid", "profile", "email", "phone", "address")
DEFAULT_SCOPES = ("openid", "profile", "email", "phone")
USER_GRANTS = ("authorization_code", "refresh_token")
ALGS = ("ES256", "RS256")
SECRET_PREFIX = "pvs_"
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,64}")


@dataclass(frozen=True, slots=True)
class ClientView:
    pk: int
    client_id: str
    name: str
    public: bool
    redirect_uris: tuple[str, ...]
    post_logout_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    grants: tuple[str, ...]
    required_level: Level
    id_token_alg: str
    created_at: datetime
    secret_rotated_at: datetime | None
    allow_without_pkce: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "public": self.public,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_uris),
            "scopes": list(self.scopes),
            "grant_types": list(self.grants),
            "required_acr": self.required_level.acr,
            "id_token_signed_response_alg": self.id_token_alg,
            "allow_without_pkce": self.allow_without_pkce,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class NewClient:
    name: str
    redirect_uris: tuple[str, ...]
    post_logout_uris: tuple[str, ...] = ()
    public: bool = False
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    client_credentials: bool = False
    required_level: Level = Level.PWD
    id_token_alg: str = "ES256"
    allow_without_pkce: bool = False


def view(row: ClientRow) -> ClientView:
    return ClientView(
        pk=row.id,
        client_id=row.client_id,
        name=row.name,
        public=row.secret_hash is None,
        redirect_uris=tuple(row.redirect_uris),
        post_logout_uris=tuple(row.post_logout_uris),
        scopes=tuple(row.scopes),
        grants=tuple(row.grants),
        required_level=Level.parse(row.required_level) or Level.MFA,
        id_token_alg=row.id_token_alg,
        created_at=row.created_at,
        secret_rotated_at=row.secret_rotated_at,
        allow_without_pkce=bool(row.allow_without_pkce),
    )


def _check(new: NewClient) -> None:
    if _NAME.fullmatch(new.name) is None or new.name != new.name.strip():
        raise Invalid("invalid_client_name")
    if not new.redirect_uris and not new.client_credentials:
        raise Invalid("redirect_uri_required")
    for uri in (*new.redirect_uris, *new.post_logout_uris):
        check_redirect_uri(uri)
    if any(s not in SCOPES for s in new.scopes) or "openid" not in new.scopes:
        raise Invalid("invalid_scope")
    if new.id_token_alg not in ALGS:
        raise Invalid("invalid_alg")
    if new.public and new.client_credentials:
        raise Invalid("public_client_credentials")
    if new.public and new.allow_without_pkce:
        raise Invalid("public_client_needs_pkce")


def add(core: Core, ctx: Context, new: NewClient) -> tuple[ClientView, str | None]:
    """Register an app; returns it with its secret (None for a public client), shown once."""
    _check(new)
    secret = None if new.public else SECRET_PREFIX + random.token(32)
    grants = [*USER_GRANTS] if new.redirect_uris else []
    if new.client_credentials:
        grants.append("client_credentials")
    columns = dict(
        client_id=random.identifier(18),
        name=new.name,
        secret_hash=secret_hash(ctx, secret) if secret else None,
        redirect_uris=list(dict.fromkeys(new.redirect_uris)),
        post_logout_uris=list(dict.fromkeys(new.post_logout_uris)),
        scopes=list(dict.fromkeys(new.scopes)),
        grants=grants,
        required_level=new.required_level.name.lower(),
        id_token_alg=new.id_token_alg,
        created_at=ctx.now(),
        allow_without_pkce=new.allow_without_pkce,
    )
    try:
        with core.store.write() as s:
            if stored.name_taken(s, new.name):
                raise Conflict("client_exists")
            row = stored.add(s, **columns)
            details = {"client": new.name, "public": new.public}
            if new.allow_without_pkce:
                details["allow_without_pkce"] = True
            record(s, ctx, Event.CLIENT_ADDED, details=details)
            return view(row), secret
    except Duplicate as exc:
        raise Conflict("client_exists") from exc


def secret_hash(ctx: Context, secret: str) -> str:
    return ctx.box.keyed_hash(secret.encode(), purpose="oidc-client")


def listing(core: Core) -> list[ClientView]:
    with core.store.read() as s:
        return [view(r) for r in stored.listing(s)]


def find(core: Core, name_or_id: str) -> ClientView:
    """By name or client_id (what an operator types)."""
    with core.store.read() as s:
        row = stored.by_name_or_client_id(s, name_or_id)
        if row is None:
            raise NotFound("client_not_found")
        return view(row)


def by_client_id(core: Core, client_id: str | None) -> ClientView | None:
    if not client_id or len(client_id) > 64:
        return None
    with core.store.read() as s:
        row = stored.by_client_id(s, client_id)
        return view(row) if row is not None else None


def by_post_logout_uri(core: Core, uri: str) -> ClientView | None:
    """The one app that registered ``uri`` for after logout (None if none, or several)."""
    found = [c for c in listing(core) if uri in c.post_logout_uris]
    return found[0] if len(found) == 1 else None


def by_pk(core: Core, pk: int) -> ClientView | None:
    with core.store.read() as s:
        row = stored.by_pk(s, pk)
        return view(row) if row is not None else None


def rotate_secret(core: Core, ctx: Context, name_or_id: str) -> tuple[ClientView, str]:
    """A new secret; the old one stops working at once."""
    client = find(core, name_or_id)
    if client.public:
        raise Invalid("public_client_has_no_secret")
    secret = SECRET_PREFIX + random.token(32)
    with core.store.write() as s:
        row = stored.set_secret(s, client.pk, secret_hash(ctx, secret), at=ctx.now())
        if row is None:
            raise NotFound("client_not_found")
        record(s, ctx, Event.CLIENT_SECRET_ROTATED, details={"client": client.name})
        return view(row), secret


def delete(core: Core, ctx: Context, name_or_id: str) -> None:
    """Remove an app with every grant and token issued to it."""
    client = find(core, name_or_id)
    with core.store.write() as s:
        if stored.remove(s, client.pk):
            record(s, ctx, Event.CLIENT_DELETED, details={"client": client.name})


def failure_key(ctx: Context) -> str:
    """The rate counter of failed client logins from the caller's address (every endpoint)."""
    return f"oidc-client-ip:{ctx.ip}"


def authenticate(core: Core, ctx: Context, client_id: str | None, secret: str | None) -> ClientView:
    """The calling client, by client_secret_basic/post, or by client_id alone for a public
    client; anything else is ``invalid_client``. Failed client logins count against the
    caller's address (``code_failures_per_ip`` per window; then 429) and are audited. One read
    answers a good request."""
    key = failure_key(ctx)
    window = ctx.settings.rate_window_seconds
    with core.store.read() as s:
        failures, _ = ratelimit.current(s, key, now=ctx.now(), window=window)
        row = (
            stored.by_client_id(s, client_id)
            if client_id and len(client_id) <= 64 and failures < ctx.settings.code_failures_per_ip
            else None
        )
        client = view(row) if row is not None else None
        secret_stored = row.secret_hash if row is not None else None
    if failures >= ctx.settings.code_failures_per_ip:
        raise OAuthError("invalid_client", "Too many failed client logins; wait.", status=429)
    if client is not None and client.public and not secret:
        return client
    given = secret_hash(ctx, secret) if secret and len(secret) <= 256 else ""
    if client is not None and secret_stored and compare.equal(given, secret_stored):
        return client
    with core.store.write() as s:
        ratelimit.hit(s, key, now=ctx.now(), window=window)
        details = {"client_id": (client_id or "")[:64]}
        record(s, ctx, Event.CLIENT_AUTH_FAILED, outcome="failure", details=details)
    raise OAuthError("invalid_client", "Unknown client or wrong credentials.", status=401)
