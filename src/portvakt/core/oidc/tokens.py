"""The token endpoint: authorization code (with PKCE), refresh token (rotating) and client
credentials grants. Codes and refresh tokens are single use; presenting one a second time
revokes the whole grant, with every token issued from it (OAuth 2.0 Security BCP 4.12, RFC
6749 4.1.2)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc import claims, keys
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.crypto import compare, random
from portvakt.crypto.hashing import sha256_hex
from portvakt.store.models import OidcGrant, OidcToken, User

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
MAX_SCOPE = 512  # as long as a grant's scope may be
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3 scope-token


def _bad_grant(text: str) -> OAuthError:
    return OAuthError("invalid_grant", text)


@dataclass(frozen=True, slots=True)
class Signer:
    """The signing key, fetched before the write transaction opens."""

    alg: str
    kid: str
    key: keys.Key


Job = Callable[[Session], dict[str, Any] | OAuthError]


def prepare(core: Core, ctx: Context, client: ClientView, form: Mapping[str, str]) -> Job:
    """Check the request's shape and fetch the signing key; the returned job does the rest
    in one write transaction and answers the tokens or an ``OAuthError`` (returned, not
    raised, so that revoking a grant on reuse is committed with the refusal)."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is missing.")
    if grant_type not in GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", "This grant type is not supported.")
    if grant_type not in client.grants:
        raise OAuthError("unauthorized_client", "This client may not use this grant type.")
    if grant_type == "client_credentials":
        return _client_credentials(ctx, client, form)
    kid, key = keys.signing_key(core, ctx, client.id_token_alg)
    signer = Signer(client.id_token_alg, kid, key)
    if grant_type == "authorization_code":
        return _code(ctx, client, form, signer)
    return _refresh(ctx, client, form, signer)


def exchange(
    core: Core, ctx: Context, client: ClientView, form: Mapping[str, str]
) -> dict[str, Any]:
    job = prepare(core, ctx, client, form)
    with core.store.write() as s:
        result = job(s)
    return _answer(result)


async def exchange_async(
    core: Core, ctx: Context, client: ClientView, form: Mapping[str, str]
) -> dict[str, Any]:
    """``exchange`` through the store's write queue (group commit on SQLite)."""
    job = await to_thread.run_sync(prepare, core, ctx, client, form)
    return _answer(await core.store.run_write(job))


def _answer(result: dict[str, Any] | OAuthError) -> dict[str, Any]:
    if isinstance(result, OAuthError):
        raise result
    return result


def pkce_ok(verifier: str, challenge: str) -> bool:
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return compare.equal(computed, challenge)


def _code(ctx: Context, client: ClientView, form: Mapping[str, str], signer: Signer) -> Job:
    code, verifier = form.get("code"), form.get("code_verifier")
    redirect_uri = form.get("redirect_uri")
    if not code or not redirect_uri:
        raise OAuthError("invalid_request", "code and redirect_uri are required.")
    if not verifier:
        raise OAuthError("invalid_request", "code_verifier is required (PKCE).")
    digest = sha256_hex(code[:200])

    def job(s: Session) -> dict[str, Any] | OAuthError:
        now = ctx.now()
        grant = s.scalar(select(OidcGrant).where(OidcGrant.code_hash == digest))
        if grant is None or grant.client_pk != client.pk:
            return _bad_grant("The code is not valid.")
        if grant.code_used_at is not None:
            return _reused(s, ctx, grant, Event.OIDC_CODE_REUSED)
        refusal = _code_refusal(grant, now, redirect_uri, verifier)
        user = _live_user(s, grant) if refusal is None else None
        if refusal is not None or user is None:
            return _bad_grant(refusal or "The account is not active.")
        if not _claim_once(s, grant, "code_used_at", now):
            return _reused(s, ctx, grant, Event.OIDC_CODE_REUSED)
        return _issue(s, ctx, client, grant, user, signer, scope=grant.scope, nonce=grant.nonce)

    return job


def _code_refusal(grant: OidcGrant, now: datetime, redirect_uri: str, verifier: str) -> str | None:
    if grant.revoked_at is not None or (grant.code_expires_at or now) <= now:
        return "The code has expired."
    if not compare.equal(redirect_uri, grant.redirect_uri or ""):
        return "redirect_uri does not match the authorization request."
    if not pkce_ok(verifier, grant.code_challenge or ""):
        return "PKCE verification failed."
    return None


def _claim_once(s: Session, row: OidcGrant | OidcToken, field: str, now: datetime) -> bool:
    """Set ``row.<field>`` (a use time) if it is still unset, atomically: of two concurrent
    exchanges of the same code or refresh token only one wins."""
    model = type(row)
    result = s.execute(
        update(model)
        .where(model.id == row.id, getattr(model, field).is_(None))
        .values({field: now})
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _refresh(ctx: Context, client: ClientView, form: Mapping[str, str], signer: Signer) -> Job:
    """RFC 6749 §6. The refresh token rotates and the new one keeps the grant's whole scope;
    the new access token (and ID token) carry the narrower ``scope`` if one was asked."""
    value = form.get("refresh_token")
    if not value:
        raise OAuthError("invalid_request", "refresh_token is required.")
    asked = requested_scope(form["scope"]) if "scope" in form else None
    digest = sha256_hex(value[:200])

    def job(s: Session) -> dict[str, Any] | OAuthError:
        now = ctx.now()
        token = s.get(OidcToken, digest)
        grant = s.get(OidcGrant, token.grant_id) if token is not None else None
        if token is None or grant is None or token.kind != "refresh":
            return _bad_grant("The refresh token is not valid.")
        refusal = _refresh_refusal(client, grant, token, now)
        if refusal is not None:
            return _bad_grant(refusal)
        if token.used_at is not None:
            return _reused(s, ctx, grant, Event.OIDC_REFRESH_REUSED)
        scope = narrowed_scope(grant.scope, asked)
        user = _live_user(s, grant)
        if scope is None or user is None:  # checked before the claim:
            return OAuthError(  # the token stays usable, nothing was exchanged
                "invalid_scope" if user else "invalid_grant",
                "The scope exceeds what was granted." if user else "The account is not active.",
            )
        if not _claim_once(s, token, "used_at", now):
            return _reused(s, ctx, grant, Event.OIDC_REFRESH_REUSED)
        return _issue(s, ctx, client, grant, user, signer, scope=scope, nonce=None)

    return job


def requested_scope(value: str) -> tuple[str, ...]:
    """The ``scope`` parameter as RFC 6749 §3.3 writes it: scope-tokens separated by single
    spaces; refused when empty, too long, malformed or with a scope repeated."""
    if not value:
        raise OAuthError("invalid_scope", "scope is empty; leave it out to keep the grant's.")
    if len(value) > MAX_SCOPE:
        raise OAuthError("invalid_scope", "scope is too long.")
    parts = tuple(value.split(" "))
    if any(_SCOPE_TOKEN.fullmatch(part) is None for part in parts):
        raise OAuthError("invalid_scope", "scope is malformed (RFC 6749 §3.3).")
    if len(set(parts)) != len(parts):
        raise OAuthError("invalid_scope", "A scope is repeated.")
    return parts


def narrowed_scope(granted: str, asked: tuple[str, ...] | None) -> str | None:
    """The scope of the new access token: the grant's when none was asked, else the asked
    scopes in the grant's order; None when one of them was not granted."""
    if asked is None:
        return granted
    have = granted.split()
    if not set(asked) <= set(have):
        return None
    return " ".join(scope for scope in have if scope in asked)


def _refresh_refusal(
    client: ClientView, grant: OidcGrant, token: OidcToken, now: datetime
) -> str | None:
    if grant.client_pk != client.pk:
        return "The refresh token is not valid."
    if grant.revoked_at is not None or token.revoked or token.expires_at <= now:
        return "The refresh token has expired or was revoked."
    return None


def _client_credentials(ctx: Context, client: ClientView, form: Mapping[str, str]) -> Job:
    if client.public:
        raise OAuthError("unauthorized_client", "A public client cannot use this grant.")
    wanted = (form.get("scope") or "").split()
    scope = " ".join(s for s in dict.fromkeys(wanted) if s in client.scopes and s != "openid")

    def job(s: Session) -> dict[str, Any] | OAuthError:
        now = ctx.now()
        grant = OidcGrant(
            client_pk=client.pk, user_id=None, scope=scope, amr=[], created_at=now, expires_at=now
        )
        s.add(grant)
        s.flush()
        return _issue(s, ctx, client, grant, None, None, scope=scope, nonce=None)

    return job


def _live_user(s: Session, grant: OidcGrant) -> User | None:
    user = s.get(User, grant.user_id) if grant.user_id is not None else None
    return None if user is None or user.disabled else user


def _reused(s: Session, ctx: Context, grant: OidcGrant, event: Event) -> OAuthError:
    """A code or refresh token presented again: revoke everything issued under its grant."""
    grant.revoked_at = ctx.now()
    record(s, ctx, event, outcome="failure", user_id=grant.user_id, details={"grant": grant.id})
    what = "code" if event is Event.OIDC_CODE_REUSED else "refresh token"
    return _bad_grant(f"The {what} was already used; tokens issued with it are revoked.")


def _issue(  # noqa: PLR0913 - one transaction, everything the response is made of
    s: Session,
    ctx: Context,
    client: ClientView,
    grant: OidcGrant,
    user: User | None,
    signer: Signer | None,
    *,
    scope: str,
    nonce: str | None,
) -> dict[str, Any]:
    """An access token of ``scope``, a refresh token of the grant's whole scope (if the client
    may refresh) and an ID token (if ``scope`` has ``openid``)."""
    settings = ctx.settings
    now = ctx.now()
    access = random.token(32)
    access_ttl = settings.oidc_access_token_seconds
    s.add(
        OidcToken(
            id=sha256_hex(access),
            grant_id=grant.id,
            kind="access",
            created_at=now,
            expires_at=now + timedelta(seconds=access_ttl),
            scope=scope if scope != grant.scope else None,
        )
    )
    out: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": access_ttl}
    out["scope"] = scope
    horizon = now + timedelta(seconds=access_ttl)
    if user is not None and "refresh_token" in client.grants:
        refresh = random.token(32)
        horizon = now + timedelta(days=settings.oidc_refresh_token_days)
        s.add(
            OidcToken(
                id=sha256_hex(refresh),
                grant_id=grant.id,
                kind="refresh",
                created_at=now,
                expires_at=horizon,
            )
        )
        out["refresh_token"] = refresh
    grant.expires_at = max(grant.expires_at, horizon)
    if user is not None and signer is not None and "openid" in scope.split():
        out["id_token"] = _id_token(
            ctx, client, grant, user, signer, scope=scope, access=access, nonce=nonce
        )
    details = {"client": client.name, "grant": grant.id}
    record(s, ctx, Event.OIDC_TOKENS_ISSUED, user_id=grant.user_id, details=details)
    return out


def _id_token(  # noqa: PLR0913
    ctx: Context,
    client: ClientView,
    grant: OidcGrant,
    user: User,
    signer: Signer,
    *,
    scope: str,
    access: str,
    nonce: str | None,
) -> str:
    now = int(ctx.now().timestamp())
    body: dict[str, Any] = {
        **claims.user_claims(user, scope),
        "iss": ctx.base_url,
        "aud": client.client_id,
        "azp": client.client_id,
        "iat": now,
        "exp": now + ctx.settings.oidc_id_token_seconds,
        "auth_time": int(grant.auth_time.timestamp()) if grant.auth_time else now,
        "acr": grant.acr,
        "amr": list(grant.amr),
        "at_hash": claims.at_hash(access),
    }
    if (sid := claims.session_sid(grant.session_id)) is not None:
        body["sid"] = sid
    if nonce:
        body["nonce"] = nonce
    header = {"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}
    return keys.encode(header, body, signer.key)
