"""The authenticator app's API (docs/protocol.md): register, nonce, challenges, events,
answers. No cookies and no CSRF: every request is authenticated by a device signature."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.core import devices
from portvakt.errors import Denied
from portvakt.protocol import APP_PATHS, peek
from portvakt.web.deps import W, Web
from portvakt.web.schemas.app import TokenBody
from portvakt.web.sse import KEEPALIVE_SECONDS, event, stream

router = APIRouter()

STATUS = {
    "activation_invalid": 410,
    "expired": 410,
    "not_pending": 409,
    "key_in_use": 409,
    "wrong_number": 403,
    "wrong_challenge": 403,
    "uv_required": 403,
    "malformed": 400,
    "unsupported_version": 400,
    "bad_key": 400,
    "bad_times": 400,
}
MESSAGES = {
    "activation_invalid": "The activation code is unknown, used or expired.",
    "unauthorized": "The device could not be authenticated.",
    "not_pending": "The request was already answered, expired or replaced.",
    "expired": "The request has expired.",
    "wrong_number": "The number does not match the one on the sign-in screen.",
    "uv_required": "This organisation requires the app to be unlocked (PIN) to approve.",
}


def refused(exc: Denied) -> JSONResponse:
    status = STATUS.get(exc.code, 401)
    body = {"error": exc.code, "message": MESSAGES.get(exc.code, "The request was refused.")}
    return JSONResponse(body, status_code=status)


@router.post(APP_PATHS["register"], status_code=201)
def register(w: W, body: TokenBody) -> Response:
    try:
        answer = devices.register(w.rt.core, w.ctx, body.token)
    except Denied as exc:
        return refused(exc)
    return JSONResponse(answer, status_code=201)


@router.get(APP_PATHS["nonce"])
def nonce(w: W) -> dict[str, object]:
    value, seconds = devices.nonce(w.rt.core, w.ctx)
    return {"nonce": value, "expires_in": seconds}


@router.get(APP_PATHS["challenges"])
def challenges(w: W, authorization: str | None = Header(default=None)) -> Response:
    try:
        device = devices.authenticate(w.rt.core, w.ctx, authorization)
    except Denied as exc:
        return refused(exc)
    return JSONResponse({"challenges": devices.pending_for(w.rt.core, w.ctx, device)})


@router.post(APP_PATHS["answers"])
def answers(w: W, body: TokenBody) -> Response:
    try:
        state = devices.answer(w.rt.core, w.ctx, body.token)
    except Denied as exc:
        return refused(exc)
    return JSONResponse({"state": state})


@router.get(APP_PATHS["events"])
async def events(
    request: Request, w: W, authorization: str | None = Header(default=None)
) -> Response:
    try:
        device = await run_in_threadpool(devices.authenticate, w.rt.core, w.ctx, authorization)
    except Denied as exc:
        return refused(exc)
    return stream(device_events(request, w, device))


async def device_events(request: Request, w: Web, device: devices.Device) -> AsyncIterator[str]:
    """Every pending challenge on connect, then new ones and ``answered`` notices as they are
    announced; a comment line every 15 s keeps proxies from closing the stream."""
    subscription = w.rt.core.notifier.subscribe(f"user:{device.user_id}")
    sent: set[str] = set()
    try:
        message: str | None = json.dumps({"type": "challenge"})
        while True:
            if message is None:
                yield ": keep-alive\n\n"
            else:
                for chunk in await _relay(w, device, message, sent):
                    yield chunk
            if await request.is_disconnected():
                return
            message = await subscription.get(timeout=KEEPALIVE_SECONDS)
    finally:
        await subscription.close()


async def _relay(w: Web, device: devices.Device, message: str, sent: set[str]) -> list[str]:
    try:
        note = json.loads(message)
    except ValueError:
        return []
    if note.get("type") == "answered":
        return [event("answered", {"tx": note.get("tx"), "state": note.get("state")})]
    tokens = await run_in_threadpool(devices.pending_for, w.rt.core, w.ctx, device)
    fresh = []
    for token in tokens:
        tx = str(peek(token).get("tx"))
        if tx not in sent:
            sent.add(tx)
            fresh.append(event("challenge", token))
    return fresh
