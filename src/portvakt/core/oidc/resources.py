"""UserInfo, introspection (RFC 7662) and revocation (RFC 7009)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc import claims
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.crypto.hashing import sha256_hex
from portvakt.store.models import OidcClient, OidcGrant, OidcToken, User

MAX_TOKEN = 200


@dataclass(frozen=True, slots=True)
class Found:
    token: OidcToken
    grant: OidcGrant
    user: User | None

    @property
    def scope(self) -> str:
        """An access token's own (narrower) scope, else its grant's."""
        return self.token.scope if self.token.scope is not None else self.grant.scope


def _find(s: Session, ctx: Context, value: str | None) -> Found | None:
    """A token that is live now: not expired, not revoked, its grant and person active."""
    if not value or len(value) > MAX_TOKEN:
        return None
    token = s.get(OidcToken, sha256_hex(value))
    if token is None or token.revoked or token.expires_at <= ctx.now():
        return None
    grant = s.get(OidcGrant, token.grant_id)
    if grant is None or grant.revoked_at is not None:
        return None
    if token.kind == "refresh" and token.used_at is not None:
        return None
    user = s.get(User, grant.user_id) if grant.user_id is not None else None
    if grant.user_id is not None and (user is None or user.disabled):
        return None
    return Found(token, grant, user)


def userinfo(core: Core, ctx: Context, access_token: str | None) -> dict[str, Any]:
    with core.store.read() as s:
        found = _find(s, ctx, access_token)
        if found is None or found.token.kind != "access" or found.user is None:
            raise OAuthError("invalid_token", "The access token is not valid.", status=401)
        scope = found.scope
        if "openid" not in scope.split():
            raise OAuthError("insufficient_scope", "The openid scope was not granted.", status=403)
        return claims.user_claims(found.user, scope)


def introspect(core: Core, ctx: Context, client: ClientView, value: str | None) -> dict[str, Any]:
    """Whether a token is active, for the client it was issued to (others learn nothing)."""
    with core.store.read() as s:
        found = _find(s, ctx, value)
        if found is None or found.grant.client_pk != client.pk:
            return {"active": False}
        token, grant, user = found.token, found.grant, found.user
        owner = s.get(OidcClient, grant.client_pk)
        out: dict[str, Any] = {
            "active": True,
            "scope": found.scope,
            "client_id": owner.client_id if owner else client.client_id,
            "token_type": "Bearer" if token.kind == "access" else "refresh_token",
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.created_at.timestamp()),
            "iss": ctx.base_url,
            "aud": client.client_id,
        }
        if user is not None:
            out |= {"sub": claims.subject(user), "username": user.username}
            out |= {"acr": grant.acr, "amr": list(grant.amr)}
        return out


def revoke(core: Core, ctx: Context, client: ClientView, value: str | None) -> None:
    """Revoke a token of this client: a refresh token ends its whole grant, an access token
    only itself. Unknown or foreign tokens are ignored (RFC 7009 2.2: always 200)."""
    with core.store.write() as s:
        found = _find(s, ctx, value)
        if found is None or found.grant.client_pk != client.pk:
            return
        if found.token.kind == "refresh":
            found.grant.revoked_at = ctx.now()
        else:
            found.token.revoked = True
        details = {"client": client.name, "grant": found.grant.id, "kind": found.token.kind}
        record(s, ctx, Event.OIDC_REVOKED, user_id=found.grant.user_id, details=details)
