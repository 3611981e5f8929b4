"""Code checks of the validate API served ahead of the FastAPI stack.

``POST /api/v1/validate`` with a code is the request Portvakt answers most often
(bench/validate.py), and FastAPI's middleware chain, router and request objects cost about as
much Python as the check itself. So ``web.app.PortvaktApp`` hands that request to ``serve``
first, which answers it straight from the ASGI messages when it can: a key found in the last
minute (``KeyCache``), a small body that parses as ``{"username", "code"}``. The check is
``validate.check_code``, the one the route uses, and the answer carries the headers
``SecurityMiddleware`` would add.

Everything else (no key, a key not cached, a push, a malformed or large body) goes on to the
FastAPI app unchanged, with the body already read handed on, so each of those rules (401, 400,
413) lives in one place: the route and the middleware."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from portvakt.core import integrations
from portvakt.domain import Door
from portvakt.web import nul
from portvakt.web.api import validate
from portvakt.web.messages import error_text
from portvakt.web.security import machine_headers

log = logging.getLogger("portvakt.web")

PATH = "/api/v1/validate"
MAX_BODY = 4096  # a code check's body is well under 300 bytes; larger ones take the long way
_HEADERS = {https: machine_headers(https=https) for https in (False, True)}
_JSON = (b"content-type", b"application/json")
Next = Callable[[Scope, Receive, Send], Awaitable[None]]


def claims(scope: Scope) -> bool:
    """Whether ``serve`` should see this request first."""
    return bool(scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST")


async def serve(app: Starlette, scope: Scope, receive: Receive, send: Send, then: Next) -> None:
    """Answer a code check of ``app`` (a ``PortvaktApp``), or pass the request to ``then``."""
    authorization, length, agent = _headers(scope)
    rt = app.state.runtime
    digest = integrations.key_digest(rt.box, authorization)
    integration = None if digest is None else validate.keys(app).get(digest)
    if digest is None or integration is None or not _small(length):
        await then(scope, receive, send)
        return
    raw, more = await _read(receive)
    max_code = rt.core.registry.max_code_length(Door.API.value)
    small = more is False and len(raw) <= MAX_BODY
    body = validate.parse(raw, max_code=max_code) if small else None
    # the stack answers the rest: a challenge to send or answer, a NUL (refused there)
    if body is None or body.code is None or body.username is None or nul.found(scope, raw):
        if more is not None:  # not a disconnect
            await then(scope, _replay(raw, more, receive), send)
        return
    client = scope.get("client")
    reply = _Reply(scope, receive, send)
    try:
        result = await validate.check_code(
            rt, integration, digest, body, ip=client[0] if client else None, user_agent=agent
        )
    except Exception:
        log.exception("unhandled error on POST %s", PATH)
        failed = {"error": "server_error", "message": error_text("server_error")}
        await reply.response(JSONResponse(failed, status_code=500))
        return
    if result is None:
        await reply.response(validate.unauthorized())
        return
    known = validate.known_answer(result)
    if known is None:
        await reply.response(validate.answer(result))
    else:
        await reply.json(known)


def _headers(scope: Scope) -> tuple[str | None, bytes | None, str | None]:
    """``Authorization`` and ``User-Agent`` (the first of each) and ``Content-Length``."""
    authorization = agent = None
    length = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-length":
            length = value
        elif name == b"user-agent" and agent is None:
            agent = value.decode("latin-1")
    return authorization, length, agent


def _small(length: bytes | None) -> bool:
    return length is None or (length.isdigit() and int(length) <= MAX_BODY)


async def _read(receive: Receive) -> tuple[bytes, bool | None]:
    """The body, or its first part once over ``MAX_BODY``, and whether more is to come (None:
    the client went away)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > MAX_BODY:
            return b"".join(chunks), more


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """``receive`` as if nothing had been read: what was read first, then the rest."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": more}

    return again


class _Reply:
    """Sends an answer with the headers ``SecurityMiddleware`` would have added."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope, self.receive, self.send = scope, receive, send
        self.headers = _HEADERS[scope.get("scheme") == "https"]

    async def json(self, body: bytes) -> None:
        """A 200 with a serialised JSON body, as raw ASGI messages (the common case)."""
        headers = [_JSON, (b"content-length", str(len(body)).encode()), *self.headers]
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def response(self, response: Response) -> None:
        response.raw_headers.extend(self.headers)
        await response(self.scope, self.receive, self.send)
