"""What every OpenID Connect endpoint shares: the request context, strict form reading,
client authentication and JSON answers that are never cached."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.app import Runtime
from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.oidc import clients
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.domain import Door
from portvakt.web.deps import runtime

MAX_FIELDS = 1000  # Starlette's limit
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def context(request: Request) -> tuple[Runtime, Context]:
    rt = runtime(request)
    client = request.client.host if request.client else None
    base = rt.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
    ctx = rt.context(
        Door.OIDC,
        ip=client,
        user_agent=request.headers.get("user-agent"),
        base_url=base.rstrip("/"),
    )
    return rt, ctx


async def params(request: Request) -> dict[str, list[str]]:
    """Query (GET) or form (POST) parameters, every value kept so repeats can be refused."""
    if request.method == "GET":
        items = request.query_params.multi_items()
    else:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "Send the parameters as a form (urlencoded).")
        try:
            items = parse_form(await request.body())
        except Exception as exc:  # malformed bodies of every kind end here
            raise OAuthError("invalid_request", "The form could not be read.") from exc
    out: dict[str, list[str]] = {}
    for key, value in items:
        out.setdefault(key, []).append(value)
    return out


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body read exactly as Starlette's form parser
    reads it (fields split on ``&``, empty ones skipped; name and value decoded from Latin-1,
    then ``+`` and percent escapes decoded as UTF-8, broken escapes kept as written; at most
    ``MAX_FIELDS``), for a tenth of its cost: it was a tenth of a token exchange."""
    items = []
    for field in body.split(b"&"):
        if field:
            name, _, value = field.partition(b"=")
            items.append(
                (unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1")))
            )
    if len(items) > MAX_FIELDS:
        raise ValueError("too many fields")
    return items


def single(values: Mapping[str, list[str]]) -> dict[str, str]:
    """One value per parameter (RFC 6749 3.2: parameters must not be repeated)."""
    for key, found in values.items():
        if len(found) > 1:
            raise OAuthError("invalid_request", f"{key} is repeated.")
    return {key: found[0] for key, found in values.items()}


def json(
    body: Mapping[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(dict(body), status_code=status, headers={**NO_STORE, **(headers or {})})


def error(exc: OAuthError, *, basic: bool = False) -> JSONResponse:
    headers = {}
    if exc.status == 401 and basic:
        headers["WWW-Authenticate"] = 'Basic realm="portvakt"'
    return json(exc.body(), status=exc.status, headers=headers)


def _basic(header: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(header.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401) from exc
    client_id, sep, secret = (unquote_plus(part) for part in raw.partition(":"))
    if not sep or "\x00" in client_id + secret:  # NUL: a header is not read by web.nul
        raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401)
    return client_id, secret


def uses_basic(request: Request) -> bool:
    """Whether the client tried ``client_secret_basic``: then a 401 carries a Basic challenge,
    even when the header could not be read (RFC 6749 5.2)."""
    return request.headers.get("authorization", "").partition(" ")[0].lower() == "basic"


def credentials(request: Request, form: Mapping[str, str]) -> tuple[str | None, str | None, bool]:
    """(client_id, secret, via Basic) from client_secret_basic or client_secret_post; using
    both at once is refused (RFC 6749 2.3)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        if "client_secret" in form:
            raise OAuthError("invalid_request", "Use one client authentication method.")
        client_id, secret = _basic(value)
        if form.get("client_id") not in {None, client_id}:
            raise OAuthError("invalid_client", "client_id does not match.", status=401)
        return client_id, secret, True
    return form.get("client_id"), form.get("client_secret"), False


async def authenticate(request: Request, form: Mapping[str, str]) -> ClientView:
    """The calling client (``clients.authenticate``: rate-limited and audited)."""
    rt, ctx = context(request)
    client_id, secret, _ = credentials(request, form)
    return await run_in_threadpool(clients.authenticate, rt.core, ctx, client_id, secret)


ClientWork = Callable[[Core, Context, ClientView, Mapping[str, str]], Any]


async def client_call(request: Request, work: ClientWork) -> Response:
    """A client-authenticated endpoint (introspection, revocation): read the form strictly,
    authenticate the client, run ``work`` in a worker thread; OAuth errors as JSON. (The
    token endpoint authenticates its client inside the exchange's transaction.)"""
    rt, ctx = context(request)
    try:
        form = single(await params(request))
        client = await authenticate(request, form)
        answer = await run_in_threadpool(work, rt.core, ctx, client, form)
    except OAuthError as exc:
        return error(exc, basic=uses_basic(request))
    return answer if isinstance(answer, Response) else json(answer)
