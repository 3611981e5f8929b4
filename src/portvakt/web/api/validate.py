"""The validate API for integrations (docs/api/validate.md): check a code, or send a push and
read its answer. No cookies and no CSRF: every request carries the integration's API key as
``Authorization: Bearer KEY``. The key is checked before the body is read.

A code check is the hot path (bench/validate.py): a key found in the last minute is taken from
``KeyCache`` without a read, and confirmed inside the check's own transaction, which goes to the
store's write queue (``Store.run_write``) rather than a worker thread of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from portvakt.app import Runtime
from portvakt.context import Context
from portvakt.core import integrations, validate, validate_answer
from portvakt.core.integrations import IntegrationView
from portvakt.domain import Door
from portvakt.errors import Invalid, NotFound
from portvakt.web.deps import runtime
from portvakt.web.schemas.validate import (
    CLIENT_IP_ERROR,
    MAX_CODE,
    ApiError,
    ValidateRequest,
    ValidateResponse,
)

router = APIRouter(prefix="/api/v1", tags=["validate"])

MAX_WAIT = 30
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiError, "description": "The request body or a parameter is not valid."},
    401: {"model": ApiError, "description": "The API key is missing or not known."},
}
# The answers of a code check, serialised once.
ANSWERS = {
    status: json.dumps({"status": status}, separators=(",", ":")).encode()
    for status in (validate.ACCEPT, validate.REJECT)
}


class _Direct(APIRoute):
    """A route documented in the OpenAPI schema like any other, whose endpoint gets the
    request as it is and returns a finished response: no dependency solving, no response
    model run (the endpoint parses and answers itself). For the hot path."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return cast(Callable[[Request], Coroutine[Any, Any, Response]], self.endpoint)


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def unauthorized() -> JSONResponse:
    return _error(401, "unauthorized", "A valid API key is required (Authorization: Bearer KEY).")


def known_answer(result: validate.Result) -> bytes | None:
    """The serialised body of a plain ``accept`` or ``reject`` (the common answers)."""
    return ANSWERS.get(result.status) if result == validate.Result(result.status) else None


def answer(result: validate.Result) -> Response:
    known = known_answer(result)
    if known is not None:
        return Response(known, media_type="application/json")
    return JSONResponse(result.as_json())


def _context(request: Request, integration: IntegrationView | None = None) -> Context:
    """The core's context for this request (push and polls; a code check makes its own)."""
    rt = runtime(request)
    url = (rt.settings.public_url or str(request.base_url)).rstrip("/")
    return rt.context(
        Door.API,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        actor=integration.name if integration is not None else None,
        base_url=url,
    )


async def _integration(request: Request) -> IntegrationView | None:
    core = runtime(request).core
    header = request.headers.get("authorization")
    return await run_in_threadpool(integrations.authenticate, core, _context(request), header)


def keys(app: Any) -> integrations.KeyCache:
    """The app's cache of recently found keys (made by ``web.app.create_app``)."""
    return cast(integrations.KeyCache, app.state.validate_keys)


def parse(raw: bytes, *, max_code: int = MAX_CODE) -> ValidateRequest | None:
    """The body, or None when it is not valid JSON of the documented shape (a code at most
    ``max_code`` long: the longest any registered kind takes at this door)."""
    try:
        return ValidateRequest.model_validate_json(raw, context={"max_code": max_code})
    except (ValueError, ValidationError):  # malformed JSON, wrong types, extra fields, limits
        return None


def bad_body(raw: bytes) -> JSONResponse:
    """The 400 for a body ``parse`` refused; it names client_ip when that is what is wrong."""
    message = (
        "The body must be {username, code}, {username, method} (and client_ip), or "
        "{transaction_id, code}."
    )
    try:
        ValidateRequest.model_validate_json(raw)
    except ValidationError as exc:
        if any(error["loc"][:1] == ("client_ip",) for error in exc.errors()):
            message = CLIENT_IP_ERROR
    except ValueError:  # not even JSON text (bytes that are not UTF-8)
        pass
    return _error(400, "invalid_request", message)


async def check_code(
    rt: Runtime,
    integration: IntegrationView,
    digest: str,
    body: ValidateRequest,
    *,
    ip: str | None,
    user_agent: str | None,
) -> validate.Result | None:
    """The code check of ``body`` (which has a username and a code): its result, or None
    when the key no longer exists (it was deleted since it was cached). Both doors to the
    check come here: ``validate_start`` and the fast path (``web.api.fast``)."""
    ctx = rt.context(Door.API, ip=ip, user_agent=user_agent, actor=integration.name)
    code, username = cast(str, body.code), cast(str, body.username)
    check = validate.CodeCheck(integration, digest, username, code, body.client_ip)
    return await validate.check(rt.core, ctx, check)  # confirms the key itself


async def validate_start(request: Request) -> Response:  # noqa: PLR0911 - one per answer
    rt = runtime(request)
    digest = integrations.key_digest(rt.box, request.headers.get("authorization"))
    if digest is None:
        return unauthorized()
    cache = keys(request.app)
    integration = cache.get(digest)
    confirmed = integration is None  # read now, rather than taken from the cache
    if integration is None:
        integration = await run_in_threadpool(integrations.by_digest, rt.core, digest)
        if integration is None:
            return unauthorized()
        cache.put(digest, integration)
    body = parse(await request.body(), max_code=rt.core.registry.max_code_length(Door.API.value))
    if body is not None and body.code is not None and body.username is not None:
        client = request.client.host if request.client else None
        agent = request.headers.get("user-agent")
        result = await check_code(rt, integration, digest, body, ip=client, user_agent=agent)
        return unauthorized() if result is None else answer(result)
    if not confirmed and await run_in_threadpool(integrations.by_digest, rt.core, digest) is None:
        return unauthorized()  # deleted since it was cached
    if body is None:
        return bad_body(await request.body())
    ctx = _context(request, integration)
    if body.transaction_id is not None:
        return await answer_challenge(rt, ctx, integration, body)
    kind = cast(str, body.method)
    registry = rt.core.registry
    sendable = kind in registry and registry.get(kind).capabilities.challenge
    if not sendable or Door.API.value not in registry.get(kind).capabilities.doors:
        return _error(400, "invalid_request", f"{kind!r} is not a method that can be sent.")
    username = cast(str, body.username)
    result = await run_in_threadpool(
        validate.start_challenge, rt.core, ctx, integration, username, kind, body.client_ip
    )
    return JSONResponse(result.as_json())


async def answer_challenge(
    rt: Runtime, ctx: Context, integration: IntegrationView, body: ValidateRequest
) -> Response:
    """``{"transaction_id", "code"}``: the code the person got for a challenge sent with
    ``method`` (an SMS code)."""
    tx, code = cast(str, body.transaction_id), cast(str, body.code)
    try:
        result = await run_in_threadpool(
            validate_answer.answer, rt.core, ctx, integration, tx, code
        )
    except NotFound:
        return _error(404, "not_found", "No such transaction.")
    except Invalid:
        return _error(400, "invalid_request", "That transaction is not answered with a code.")
    return JSONResponse(result.as_json())


router.add_api_route(
    "/validate",
    validate_start,
    methods=["POST"],
    route_class_override=_Direct,
    response_model=ValidateResponse,
    response_model_exclude_none=True,
    responses={
        **ERRORS,
        404: {"model": ApiError, "description": "No such transaction for this integration."},
    },
    summary="Check a code, send a challenge (push, SMS), or answer one with its code",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ValidateRequest.model_json_schema()}},
        }
    },
)


@router.get(
    "/validate/{transaction_id}",
    response_model=ValidateResponse,
    response_model_exclude_none=True,
    responses={
        **ERRORS,
        404: {"model": ApiError, "description": "No such transaction for this integration."},
    },
    summary="Read (and wait for) the answer to a push",
)
async def validate_result(
    request: Request,
    transaction_id: Annotated[str, Path(min_length=1, max_length=64)],
    wait: Annotated[
        int, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for an answer.")
    ] = 0,
) -> Response:
    """``pending`` until the person answers; ``accept`` once for an approved push; ``reject``
    when denied, failed, expired, replaced or already used. With ``wait`` the answer is sent as
    soon as it arrives, or after ``wait`` seconds with ``pending``."""
    integration = await _integration(request)
    if integration is None:
        return unauthorized()
    rt = runtime(request)
    ctx = _context(request, integration)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    # Subscribed before the first read, so an answer between the read and the wait is not missed.
    subscription = rt.core.notifier.subscribe(f"tx:{transaction_id}")
    try:
        while True:
            try:
                result = await run_in_threadpool(
                    validate.poll, rt.core, ctx, integration, transaction_id
                )
            except NotFound:
                return _error(404, "not_found", "No such transaction.")
            remaining = deadline - loop.time()
            if result.status != validate.PENDING or remaining <= 0:
                return JSONResponse(result.as_json())
            await subscription.get(timeout=remaining)
    finally:
        await subscription.close()


def document_methods(schema: dict[str, Any], kinds: list[str]) -> dict[str, Any]:
    """Name the kinds ``method`` accepts (the registry's challenge kinds) in the OpenAPI
    document, so that it says exactly what the API takes."""
    body = (
        schema.get("paths", {})
        .get("/api/v1/validate", {})
        .get("post", {})
        .get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    )
    named = {"type": "string", "enum": kinds}
    if "method" in body.get("properties", {}):
        body["properties"]["method"] = {"anyOf": [named, {"type": "null"}], "default": None}
    for branch in body.get("oneOf", []):
        if branch.get("properties", {}).get("method", {}).get("type") == "string":
            branch["properties"]["method"] = named
    return schema
