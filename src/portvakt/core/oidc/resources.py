"""UserInfo, introspection (RFC 7662) and revocation (RFC 7009)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc import claims
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.crypto.hashing import sha256_hex
from portvakt.store.repos import oidc
from portvakt.store.repos.oidc import Token

MAX_TOKEN = 200


def _find(s: Session, ctx: Context, value: str | None) -> Token | None:
    """A token that is live now: not expired, not revoked, its grant and person active."""
    if not value or len(value) > MAX_TOKEN:
        return None
    token = oidc.token(s, sha256_hex(value))
    if token is None or token.revoked or token.expires_at <= ctx.now():
        return None
    grant = token.grant
    if grant.revoked_at is not None:
        return None
    if token.kind == "refresh" and token.used_at is not None:
        return None
    if grant.user_id is not None and (grant.person is None or grant.person.disabled):
        return None
    return token


def userinfo(core: Core, ctx: Context, access_token: str | None) -> dict[str, Any]:
    """The claims the access token's scope releases (OpenID Connect Core 5.3)."""
    with core.store.read() as s:
        found = _find(s, ctx, access_token)
    person = found.grant.person if found is not None else None
    if found is None or found.kind != "access" or person is None:
        raise OAuthError("invalid_token", "The access token is not valid.", status=401)
    if "openid" not in found.scope.split():
        raise OAuthError("insufficient_scope", "The openid scope was not granted.", status=403)
    return claims.user_claims(person, found.scope)


def introspect(core: Core, ctx: Context, client: ClientView, value: str | None) -> dict[str, Any]:
    """Whether a token is active, for the client it was issued to (others learn nothing)."""
    with core.store.read() as s:
        found = _find(s, ctx, value)
    if found is None or found.grant.client_pk != client.pk:
        return {"active": False}
    grant, person = found.grant, found.grant.person
    out: dict[str, Any] = {
        "active": True,
        "scope": found.scope,
        "client_id": client.client_id,
        "token_type": "Bearer" if found.kind == "access" else "refresh_token",
        "exp": int(found.expires_at.timestamp()),
        "iat": int(found.created_at.timestamp()),
        "iss": ctx.base_url,
        "aud": client.client_id,
    }
    if person is not None:
        out |= {"sub": claims.subject(person), "username": person.username}
        out |= {"acr": grant.acr, "amr": list(grant.amr)}
    return out


def revoke(core: Core, ctx: Context, client: ClientView, value: str | None) -> None:
    """Revoke a token of this client: a refresh token ends its whole grant, an access token
    only itself. Unknown or foreign tokens are ignored (RFC 7009 2.2: always 200)."""
    with core.store.write() as s:
        found = _find(s, ctx, value)
        if found is None or found.grant.client_pk != client.pk:
            return
        if found.kind == "refresh":
            oidc.revoke_grant(s, found.grant.id, now=ctx.now())
        else:
            oidc.revoke_token(s, found.id)
        details = {"client": client.name, "grant": found.grant.id, "kind": found.kind}
        record(s, ctx, Event.OIDC_REVOKED, user_id=found.grant.user_id, details=details)
