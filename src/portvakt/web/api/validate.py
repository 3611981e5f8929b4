"""The validate API for integrations (docs/api/validate.md): check a code, or send a push and
read its answer. No cookies and no CSRF: every request carries the integration's API key as
``Authorization: Bearer KEY``. The key is checked before the body is read."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from portvakt.context import Context
from portvakt.core import integrations, validate
from portvakt.core.integrations import IntegrationView
from portvakt.domain import Door
from portvakt.errors import NotFound
from portvakt.web.deps import runtime
from portvakt.web.schemas.validate import ApiError, ValidateRequest, ValidateResponse

router = APIRouter(prefix="/api/v1", tags=["validate"])

MAX_WAIT = 30
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiError, "description": "The request body or a parameter is not valid."},
    401: {"model": ApiError, "description": "The API key is missing or not known."},
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _unauthorized() -> JSONResponse:
    return _error(401, "unauthorized", "A valid API key is required (Authorization: Bearer KEY).")


def _context(request: Request, integration: IntegrationView | None = None) -> Context:
    rt = runtime(request)
    ctx = rt.context(
        Door.API,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        base_url=(rt.settings.public_url or str(request.base_url)).rstrip("/"),
    )
    return ctx if integration is None else dataclasses.replace(ctx, actor=integration.name)


async def _integration(request: Request) -> IntegrationView | None:
    core = runtime(request).core
    header = request.headers.get("authorization")
    return await run_in_threadpool(integrations.authenticate, core, _context(request), header)


def _parse(raw: bytes) -> ValidateRequest | None:
    try:
        return ValidateRequest.model_validate(json.loads(raw))
    except (ValueError, ValidationError):  # malformed JSON, wrong types, extra fields, limits
        return None


@router.post(
    "/validate",
    response_model=ValidateResponse,
    response_model_exclude_none=True,
    responses=ERRORS,
    summary="Check a code, or send a push",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ValidateRequest.model_json_schema()}},
        }
    },
)
async def validate_start(request: Request) -> Response:
    integration = await _integration(request)
    if integration is None:
        return _unauthorized()
    body = _parse(await request.body())
    if body is None:
        return _error(
            400, "invalid_request", "The body must be {username, code} or {username, method: push}."
        )
    rt = runtime(request)
    ctx = _context(request, integration)
    if body.code is not None:
        result = await run_in_threadpool(
            validate.check, rt.core, ctx, integration, body.username, body.code
        )
    else:
        result = await run_in_threadpool(
            validate.start_push, rt.core, ctx, integration, body.username
        )
    return JSONResponse(result.as_json())


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
        return _unauthorized()
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
