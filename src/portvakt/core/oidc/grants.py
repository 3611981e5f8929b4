"""The three grants of the token endpoint, each inside the exchange's write transaction
(``tokens``): authorization code with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.6), refresh token
with rotation and reuse detection (RFC 6749 §6, OAuth 2.0 Security BCP 4.14), client
credentials (RFC 6749 §4.4). Refusals are returned; nothing is spent before every check that
can refuse the request has passed."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.oidc import claims, keys
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.crypto import compare, random
from portvakt.crypto.hashing import sha256_hex
from portvakt.store.repos import oidc
from portvakt.store.repos.oidc import Grant, Token

MAX_VALUE = 200  # codes and tokens are 43 characters; longer values are nobody's
MAX_SCOPE = 512  # as long as a grant's scope may be
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3 scope-token

Result = dict[str, Any] | OAuthError


@dataclass(frozen=True, slots=True)
class Signer:
    """The key that signs ID tokens for one algorithm, fetched before the transaction."""

    alg: str
    kid: str
    key: keys.Key


@dataclass(frozen=True, slots=True)
class NeedSigner:
    """The answer needs an ID token signed with ``alg`` and no key was fetched for it: the
    exchange is run again with one (nothing was written)."""

    alg: str


def _bad_grant(text: str) -> OAuthError:
    return OAuthError("invalid_grant", text)


def pkce_ok(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6 with S256 (the only method offered)."""
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return compare.equal(computed, challenge)


def code(
    s: Session, ctx: Context, client: ClientView, form: Mapping[str, str], signer: Signer | None
) -> Result | NeedSigner:
    value, verifier = form.get("code"), form.get("code_verifier") or None
    redirect_uri = form.get("redirect_uri")
    if not value or not redirect_uri:
        return OAuthError("invalid_request", "code and redirect_uri are required.")
    now = ctx.now()
    grant = oidc.grant_by_code(s, sha256_hex(value)) if len(value) <= MAX_VALUE else None
    if grant is None or grant.client_pk != client.pk:
        return _bad_grant("The code is not valid.")
    refusal = _code_refusal(s, ctx, client, grant, redirect_uri, verifier)
    if refusal is not None:
        return refusal
    if signer is None and "openid" in grant.scope.split():
        return NeedSigner(client.id_token_alg)
    if not oidc.claim_code(s, grant.id, now=now):
        return _reused(s, ctx, grant, Event.OIDC_CODE_REUSED)
    return _issue(s, ctx, client, grant, signer, scope=grant.scope, nonce=grant.nonce)


def _code_refusal(
    s: Session,
    ctx: Context,
    client: ClientView,
    grant: Grant,
    redirect_uri: str,
    verifier: str | None,
) -> OAuthError | None:
    """Why the code cannot be exchanged: no verifier where one is due (the code stays
    unspent), spent already (which revokes its grant), or what it is bound to."""
    if verifier is None and (grant.code_challenge is not None or client.public):
        return OAuthError("invalid_request", "code_verifier is required (PKCE).")
    if grant.code_used_at is not None:
        return _reused(s, ctx, grant, Event.OIDC_CODE_REUSED)
    unbound = _code_unbound(grant, ctx.now(), redirect_uri, verifier)
    return None if unbound is None else _bad_grant(unbound)


def _code_unbound(
    grant: Grant, now: datetime, redirect_uri: str, verifier: str | None
) -> str | None:
    """What the code is bound to and this request is not: time, redirect URI, PKCE, a live
    account."""
    if grant.revoked_at is not None or (grant.code_expires_at or now) <= now:
        return "The code has expired."
    if not compare.equal(redirect_uri, grant.redirect_uri or ""):
        return "redirect_uri does not match the authorization request."
    if not _pkce_holds(grant.code_challenge, verifier):
        return "PKCE verification failed."
    if grant.person is None or grant.person.disabled:
        return "The account is not active."
    return None


def _pkce_holds(challenge: str | None, verifier: str | None) -> bool:
    """The verifier matches the code's challenge. A code issued without one (a confidential
    client exempt from PKCE at the authorization endpoint) takes no verifier: one sent
    anyway means the challenge was stripped from the request (Security BCP 2.1.1)."""
    if challenge is None:
        return verifier is None
    return verifier is not None and pkce_ok(verifier, challenge)


def refresh(
    s: Session, ctx: Context, client: ClientView, form: Mapping[str, str], signer: Signer | None
) -> Result | NeedSigner:
    """RFC 6749 §6. The refresh token rotates; the new one keeps the grant's whole scope,
    and the new access token (and ID token) carry the narrower ``scope`` if one was asked."""
    request = _refresh_request(form)
    if isinstance(request, OAuthError):
        return request
    value, asked = request
    token = oidc.token(s, sha256_hex(value)) if len(value) <= MAX_VALUE else None
    refusal = _refresh_refusal(s, ctx, client, token)
    if refusal is not None or token is None:
        return refusal or _bad_grant("The refresh token is not valid.")
    scope = narrowed_scope(token.grant.scope, asked)
    if scope is None:  # checked before the claim: the refresh token stays usable
        return OAuthError("invalid_scope", "The scope exceeds what was granted.")
    if signer is None and "openid" in scope.split():
        return NeedSigner(client.id_token_alg)
    if not oidc.claim_refresh(s, token.id, now=ctx.now()):
        return _reused(s, ctx, token.grant, Event.OIDC_REFRESH_REUSED)
    return _issue(s, ctx, client, token.grant, signer, scope=scope, nonce=None)


def _refresh_request(form: Mapping[str, str]) -> tuple[str, tuple[str, ...] | None] | OAuthError:
    """The refresh token, and the scope asked for (None: the grant's)."""
    value = form.get("refresh_token")
    if not value:
        return OAuthError("invalid_request", "refresh_token is required.")
    asked = requested_scope(form["scope"]) if "scope" in form else None
    return asked if isinstance(asked, OAuthError) else (value, asked)


def _refresh_refusal(
    s: Session, ctx: Context, client: ClientView, token: Token | None
) -> OAuthError | None:
    """Why the refresh token cannot be exchanged: not one of this client's, expired or
    revoked, spent already (which revokes its grant), or the account."""
    if token is None or token.kind != "refresh" or token.grant.client_pk != client.pk:
        return _bad_grant("The refresh token is not valid.")
    grant = token.grant
    if grant.revoked_at is not None or token.revoked or token.expires_at <= ctx.now():
        return _bad_grant("The refresh token has expired or was revoked.")
    if token.used_at is not None:
        return _reused(s, ctx, grant, Event.OIDC_REFRESH_REUSED)
    if grant.person is None or grant.person.disabled:
        return _bad_grant("The account is not active.")
    return None


def requested_scope(value: str) -> tuple[str, ...] | OAuthError:
    """The ``scope`` parameter as RFC 6749 §3.3 writes it: scope-tokens separated by single
    spaces; refused when empty, too long, malformed or with a scope repeated."""
    if not value:
        return OAuthError("invalid_scope", "scope is empty; leave it out to keep the grant's.")
    if len(value) > MAX_SCOPE:
        return OAuthError("invalid_scope", "scope is too long.")
    parts = tuple(value.split(" "))
    if any(_SCOPE_TOKEN.fullmatch(part) is None for part in parts):
        return OAuthError("invalid_scope", "scope is malformed (RFC 6749 §3.3).")
    if len(set(parts)) != len(parts):
        return OAuthError("invalid_scope", "A scope is repeated.")
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


def client_credentials(
    s: Session, ctx: Context, client: ClientView, form: Mapping[str, str]
) -> Result:
    """An access token for the client itself: no person, no refresh token, no ID token."""
    if client.public:
        return OAuthError("unauthorized_client", "A public client cannot use this grant.")
    wanted = (form.get("scope") or "").split()
    scope = " ".join(w for w in dict.fromkeys(wanted) if w in client.scopes and w != "openid")
    now = ctx.now()
    ttl = ctx.settings.oidc_access_token_seconds
    until = now + timedelta(seconds=ttl)
    grant_id = oidc.add_client_grant(s, client.pk, scope=scope, now=now, expires_at=until)
    access = random.token(32)
    digest = sha256_hex(access)
    oidc.add_token(s, digest, grant_id=grant_id, kind="access", now=now, expires_at=until)
    details = {"client": client.name, "grant": grant_id}
    record(s, ctx, Event.OIDC_TOKENS_ISSUED, details=details)
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": scope}


def _reused(s: Session, ctx: Context, grant: Grant, event: Event) -> OAuthError:
    """A code or refresh token presented again: revoke everything issued under its grant."""
    oidc.revoke_grant(s, grant.id, now=ctx.now())
    record(s, ctx, event, outcome="failure", user_id=grant.user_id, details={"grant": grant.id})
    what = "code" if event is Event.OIDC_CODE_REUSED else "refresh token"
    return _bad_grant(f"The {what} was already used; tokens issued with it are revoked.")


def _issue(  # noqa: PLR0913 - one transaction, everything the response is made of
    s: Session,
    ctx: Context,
    client: ClientView,
    grant: Grant,
    signer: Signer | None,
    *,
    scope: str,
    nonce: str | None,
) -> dict[str, Any]:
    """Access token (of ``scope``), a new refresh token (of the grant's whole scope) if the
    client may refresh, and an ID token if ``scope`` has ``openid`` (with ``nonce``: only the
    code exchange's, OpenID Connect Core 12.2)."""
    settings, now = ctx.settings, ctx.now()
    access = random.token(32)
    ttl = settings.oidc_access_token_seconds
    horizon = now + timedelta(seconds=ttl)
    oidc.add_token(
        s,
        sha256_hex(access),
        grant_id=grant.id,
        kind="access",
        now=now,
        expires_at=horizon,
        scope=scope if scope != grant.scope else None,
    )
    out: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ttl}
    out["scope"] = scope
    if "refresh_token" in client.grants:
        refresh_token = random.token(32)
        horizon = now + timedelta(days=settings.oidc_refresh_token_days)
        digest = sha256_hex(refresh_token)
        oidc.add_token(s, digest, grant_id=grant.id, kind="refresh", now=now, expires_at=horizon)
        out["refresh_token"] = refresh_token
    oidc.extend_grant(s, grant.id, until=horizon)
    if signer is not None and grant.person is not None and "openid" in scope.split():
        body = _id_claims(ctx, client, grant, scope=scope, access=access)
        if nonce:
            body["nonce"] = nonce
        header = {"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}
        out["id_token"] = keys.encode(header, body, signer.key)
    details = {"client": client.name, "grant": grant.id}
    record(s, ctx, Event.OIDC_TOKENS_ISSUED, user_id=grant.user_id, details=details)
    return out


def _id_claims(
    ctx: Context, client: ClientView, grant: Grant, *, scope: str, access: str
) -> dict[str, Any]:
    """OpenID Connect Core 2 and 3.1.3.6 (the ``nonce`` is the caller's)."""
    assert grant.person is not None
    now = int(ctx.now().timestamp())
    body: dict[str, Any] = {
        **claims.user_claims(grant.person, scope),
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
    return body
