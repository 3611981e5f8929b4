"""The token endpoint: authorization code (with PKCE), refresh token (rotating) and client
credentials grants. Codes and refresh tokens are single use; presenting one a second time
revokes the whole grant, with every token issued from it (OAuth 2.0 Security BCP 4.12, RFC
6749 4.1.2)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def _bad_grant(text: str) -> OAuthError:
    return OAuthError("invalid_grant", text)


@dataclass(frozen=True, slots=True)
class Signer:
    """The signing key, fetched before the write transaction opens."""

    alg: str
    kid: str
    key: keys.Key


def exchange(
    core: Core, ctx: Context, client: ClientView, form: Mapping[str, str]
) -> dict[str, Any]:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is missing.")
    if grant_type not in GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", "This grant type is not supported.")
    if grant_type not in client.grants:
        raise OAuthError("unauthorized_client", "This client may not use this grant type.")
    kid, key = keys.signing_key(core, ctx, client.id_token_alg)
    signer = Signer(client.id_token_alg, kid, key)
    if grant_type == "authorization_code":
        return _code(core, ctx, client, form, signer)
    if grant_type == "refresh_token":
        return _refresh(core, ctx, client, form, signer)
    return _client_credentials(core, ctx, client, form)


def pkce_ok(verifier: str, challenge: str) -> bool:
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return compare.equal(computed, challenge)


def _code(
    core: Core, ctx: Context, client: ClientView, form: Mapping[str, str], signer: Signer
) -> dict[str, Any]:
    code, verifier = form.get("code"), form.get("code_verifier")
    redirect_uri = form.get("redirect_uri")
    if not code or not redirect_uri:
        raise OAuthError("invalid_request", "code and redirect_uri are required.")
    if not verifier:
        raise OAuthError("invalid_request", "code_verifier is required (PKCE).")
    now = ctx.now()
    reused = False
    with core.store.write() as s:
        grant = s.scalar(select(OidcGrant).where(OidcGrant.code_hash == sha256_hex(code[:200])))
        if grant is None or grant.client_pk != client.pk:
            raise _bad_grant("The code is not valid.")
        if grant.code_used_at is not None or not _claim_once(s, grant, "code_used_at", now):
            _revoke(s, ctx, grant, Event.OIDC_CODE_REUSED)
            reused = True
        else:
            if grant.revoked_at is not None or (grant.code_expires_at or now) <= now:
                raise _bad_grant("The code has expired.")
            if not compare.equal(redirect_uri, grant.redirect_uri or ""):
                raise _bad_grant("redirect_uri does not match the authorization request.")
            if not pkce_ok(verifier, grant.code_challenge or ""):
                raise _bad_grant("PKCE verification failed.")
            user = _live_user(s, grant)
            return _issue(s, ctx, client, grant, user, signer, nonce=grant.nonce)
    if reused:
        raise _bad_grant("The code was already used; tokens issued with it are revoked.")
    raise _bad_grant("The code is not valid.")  # pragma: no cover - unreachable


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


def _refresh(
    core: Core, ctx: Context, client: ClientView, form: Mapping[str, str], signer: Signer
) -> dict[str, Any]:
    value = form.get("refresh_token")
    if not value:
        raise OAuthError("invalid_request", "refresh_token is required.")
    now = ctx.now()
    with core.store.write() as s:
        token = s.get(OidcToken, sha256_hex(value[:200]))
        grant = s.get(OidcGrant, token.grant_id) if token is not None else None
        if token is None or grant is None or token.kind != "refresh":
            raise _bad_grant("The refresh token is not valid.")
        if grant.client_pk != client.pk:
            raise _bad_grant("The refresh token is not valid.")
        if grant.revoked_at is not None or token.revoked or token.expires_at <= now:
            raise _bad_grant("The refresh token has expired or was revoked.")
        fresh = token.used_at is None and _claim_once(s, token, "used_at", now)
        if fresh:
            wanted = set((form.get("scope") or grant.scope).split())
            if not wanted <= set(grant.scope.split()):
                raise OAuthError("invalid_scope", "The scope exceeds what was granted.")
            user = _live_user(s, grant)
            return _issue(s, ctx, client, grant, user, signer, nonce=None)
        _revoke(s, ctx, grant, Event.OIDC_REFRESH_REUSED)
    raise _bad_grant("The refresh token was already used; the grant is revoked.")


def _client_credentials(
    core: Core, ctx: Context, client: ClientView, form: Mapping[str, str]
) -> dict[str, Any]:
    if client.public:
        raise OAuthError("unauthorized_client", "A public client cannot use this grant.")
    wanted = (form.get("scope") or "").split()
    scope = " ".join(s for s in dict.fromkeys(wanted) if s in client.scopes and s != "openid")
    now = ctx.now()
    with core.store.write() as s:
        grant = OidcGrant(
            client_pk=client.pk,
            user_id=None,
            scope=scope,
            amr=[],
            created_at=now,
            expires_at=now,
        )
        s.add(grant)
        s.flush()
        return _issue(s, ctx, client, grant, None, None, nonce=None)


def _live_user(s: Session, grant: OidcGrant) -> User:
    user = s.get(User, grant.user_id) if grant.user_id is not None else None
    if user is None or user.disabled:
        raise _bad_grant("The account is not active.")
    return user


def _revoke(s: Session, ctx: Context, grant: OidcGrant, event: Event) -> None:
    grant.revoked_at = ctx.now()
    record(s, ctx, event, outcome="failure", user_id=grant.user_id, details={"grant": grant.id})


def _issue(  # noqa: PLR0913 - one transaction, everything the response is made of
    s: Session,
    ctx: Context,
    client: ClientView,
    grant: OidcGrant,
    user: User | None,
    signer: Signer | None,
    *,
    nonce: str | None,
) -> dict[str, Any]:
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
        )
    )
    out: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": access_ttl}
    out["scope"] = grant.scope
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
    if user is not None and signer is not None and "openid" in grant.scope.split():
        out["id_token"] = _id_token(ctx, client, grant, user, signer, access=access, nonce=nonce)
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
    access: str,
    nonce: str | None,
) -> str:
    now = int(ctx.now().timestamp())
    body: dict[str, Any] = {
        **claims.user_claims(user, grant.scope),
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
