"""Machine endpoints: discovery, JWKS, token, UserInfo, introspection, revocation. They
answer JSON only, and OAuth errors in the RFC 6749 shape, never an HTML page or a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.oidc import keys, resources, tokens
from portvakt.core.oidc.authorize import RESPONSE_MODES
from portvakt.core.oidc.clients import ALGS, SCOPES, ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.core.oidc.levels import Level
from portvakt.web.oidc import common

router = APIRouter(include_in_schema=False)
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
CLAIMS = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
    "at_hash", "name", "preferred_username", "email", "phone_number",
]  # fmt: skip


@router.get("/.well-known/openid-configuration")
def discovery(request: Request) -> JSONResponse:
    """Cacheable for an hour when ``public_url`` names the issuer; without it every URL here
    follows the request's Host (and scheme), so the answer is never stored: a cache must not
    hand one name's metadata to a request for another."""
    rt, ctx = common.context(request)
    base = ctx.base_url
    body: dict[str, Any] = {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "userinfo_endpoint": f"{base}/oauth2/userinfo",
        "jwks_uri": f"{base}/oauth2/jwks",
        "revocation_endpoint": f"{base}/oauth2/revoke",
        "introspection_endpoint": f"{base}/oauth2/introspect",
        "end_session_endpoint": f"{base}/oauth2/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": list(tokens.GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGS),
        "scopes_supported": list(SCOPES),
        "claims_supported": CLAIMS,
        "acr_values_supported": [level.acr for level in Level],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS[:2],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "ui_locales_supported": ["en", "nb"],
    }
    cache = {"Cache-Control": "public, max-age=3600"} if rt.settings.public_url else common.NO_STORE
    return JSONResponse(body, headers=cache)


@router.get("/oauth2/jwks")
def jwks(request: Request) -> JSONResponse:
    rt, ctx = common.context(request)
    body = keys.jwks(rt.core, ctx)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=600"})


@router.post("/oauth2/token")
async def token(request: Request) -> Response:
    """The client is authenticated inside the exchange's transaction (``tokens``)."""
    rt, ctx = common.context(request)
    try:
        form = common.single(await common.params(request))
        client_id, secret, _ = common.credentials(request, form)
        caller = tokens.Caller(client_id, secret)
        answer = await tokens.exchange_async(rt.core, ctx, caller, form)
    except OAuthError as exc:
        return common.error(exc, basic=common.uses_basic(request))
    return common.json(answer)


@router.api_route("/oauth2/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request) -> Response:
    rt, ctx = common.context(request)
    value = None
    try:
        value = await _bearer(request)
        body = await run_in_threadpool(resources.userinfo, rt.core, ctx, value)
    except OAuthError as exc:
        if exc.status == 400:
            return common.error(exc, basic=False)
        # RFC 6750 3.1: no error code in the challenge when no token was presented at all
        challenge = f'Bearer error="{exc.error}"' if value else 'Bearer realm="portvakt"'
        return common.json(exc.body(), status=exc.status, headers={"WWW-Authenticate": challenge})
    return common.json(body)


async def _bearer(request: Request) -> str | None:
    """The access token from ``Authorization: Bearer`` or (POST) the ``access_token`` form
    field (RFC 6750 2.1, 2.2); both at once is a bad request."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    from_header = value.strip() if scheme.lower() == "bearer" else None
    from_body = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        from_body = common.single(await common.params(request)).get("access_token")
    if from_header and from_body:
        raise OAuthError("invalid_request", "Send the access token once.")
    return from_header or from_body


@router.post("/oauth2/introspect")
async def introspect(request: Request) -> Response:
    return await common.client_call(request, _introspect)


def _introspect(
    core: Core, ctx: Context, client: ClientView, form: Mapping[str, str]
) -> dict[str, Any]:
    if client.public:
        raise OAuthError("unauthorized_client", "Public clients cannot introspect.")
    return resources.introspect(core, ctx, client, _token(form))


@router.post("/oauth2/revoke")
async def revoke(request: Request) -> Response:
    return await common.client_call(request, _revoke)


def _revoke(core: Core, ctx: Context, client: ClientView, form: Mapping[str, str]) -> Response:
    resources.revoke(core, ctx, client, _token(form))
    return Response(status_code=200, headers=common.NO_STORE)


def _token(form: Mapping[str, str]) -> str:
    value = form.get("token")
    if not value:
        raise OAuthError("invalid_request", "token is required.")
    return value
