"""Authorization requests parked while the person signs in: kept server-side for
``signin_ttl_seconds``; the browser holds only a random token (cookie ``pv_authz``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.oidc import clients, redirects
from portvakt.core.oidc.authorize import AuthRequest
from portvakt.core.oidc.errors import PageError
from portvakt.core.oidc.levels import Level
from portvakt.crypto import random
from portvakt.crypto.hashing import sha256_hex
from portvakt.store.repos import oidc_authz


def park(core: Core, ctx: Context, req: AuthRequest, *, for_signin: bool) -> str:
    """Keep ``req`` while the person signs in (``for_signin``) or steps up; returns the token
    the browser holds. A request waiting for a sign-in remembers since when: a session begun
    after that was signed in for it, whatever ``prompt=login`` or ``max_age`` say."""
    token = random.token()
    now = ctx.now()
    params = replace(req, fresh_after=now if for_signin else None).to_params()
    with core.store.write() as s:
        oidc_authz.park(
            s,
            sha256_hex(token),
            client_pk=req.client.pk,
            params=params,
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.signin_ttl_seconds),
        )
    return token


def load(core: Core, ctx: Context, token: str | None) -> AuthRequest:
    if not token or len(token) > 100:
        raise PageError("authorization_expired")
    with core.store.read() as s:
        row = oidc_authz.parked(s, sha256_hex(token))
    if row is None or row.expires_at <= ctx.now():
        raise PageError("authorization_expired")
    client_pk, p = row.client_pk, row.params
    client = clients.by_pk(core, client_pk)
    if client is None or not redirects.allowed(client, p["redirect_uri"]):
        raise PageError("authorization_expired")
    fresh_after = p.get("fresh_after")
    return AuthRequest(
        client=client,
        redirect_uri=p["redirect_uri"],
        scope=tuple(p["scope"]),
        state=p["state"],
        nonce=p["nonce"],
        code_challenge=p["code_challenge"],
        prompt=frozenset(p["prompt"]),
        max_age=p["max_age"],
        level=Level(p["level"]),
        login_hint=p["login_hint"],
        fresh_after=datetime.fromisoformat(fresh_after) if fresh_after else None,
        ui_language=p.get("ui_language"),  # absent in requests parked before it was kept
        hint_subject=p.get("hint_subject"),
        response_mode=p.get("response_mode") or "query",
    )


def waiting(core: Core, ctx: Context, token: str | None) -> AuthRequest | None:
    """The request parked under ``token`` (the ``pv_authz`` cookie), if it is still waiting:
    its app's name, redirect URI (for the pages' CSP) and language (``ui_locales``)."""
    if not token:
        return None
    try:
        return load(core, ctx, token)
    except PageError:
        return None


def drop(core: Core, token: str | None) -> None:
    if token and len(token) <= 100:
        with core.store.write() as s:
            oidc_authz.drop(s, sha256_hex(token))
