"""NUL (``U+0000``) refused at the edge, in every text a request carries to the database.

PostgreSQL cannot store NUL in text: a query that carries one fails inside the driver, far
from the door that read it, where it became a 500. So no request that carries NUL gets past
``NulMiddleware``, whatever the route: not in the path, the query string, an urlencoded or
multipart form, or a JSON body (as a raw byte or as the ``\\u0000`` escape). The answer is a
400 in the style of the door: an OAuth ``invalid_request`` on the OpenID Connect machine
endpoints, the API's ``{"error", "message"}`` on the other machine paths, an error page
elsewhere. The validate API's fast path (``web.api.fast``) asks ``found`` too, and hands such a
request on to the stack, which refuses it here.

Headers are not read: HTTP servers refuse NUL in them (h11 and httptools both do); the values
the doors take from headers that reach the database (``Basic`` client credentials) are
checked where they are decoded. Values inside a signed message (the app's JWS claims) are read
by ``portvakt.wire``'s strict parsers."""

from __future__ import annotations

import codecs
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portvakt.web.deps import renderer
from portvakt.web.messages import error_text
from portvakt.web.security import is_machine_path

DESCRIPTION = "The request contains a NUL character (U+0000), which is not accepted."
OAUTH_PATHS = ("/oauth2/",)  # machine endpoints here answer OAuth errors (RFC 6749 5.2)
# Charsets in which only the zero byte decodes to NUL (Starlette decodes a multipart form with
# the one its Content-Type names, and an unknown one as Latin-1)
PLAIN_CHARSETS = frozenset({"utf-8", "ascii", "iso8859-1"})
# A ``\u0000`` escape whose backslash is not itself escaped (``\\u0000`` is text, not NUL).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def found(scope: Scope, body: bytes = b"") -> bool:
    """Whether the request of ``scope`` with ``body`` carries NUL in its path, query string or
    body, as its content type would have it decoded (or, for a multipart form, could)."""
    if "\x00" in scope["path"]:
        return True
    query = scope.get("query_string", b"")
    if query and (b"%00" in query or b"\x00" in query):
        return True
    return bool(body) and _in_body(body, _content_type(scope))


def _in_body(body: bytes, content_type: tuple[str, str]) -> bool:
    kind, charset = content_type
    if b"\x00" in body:
        return True
    if kind == "multipart/form-data":
        # Field values are decoded with the declared charset: one such as UTF-7 can spell NUL
        # without a NUL byte. Browsers declare none (UTF-8).
        return not _plain(charset)
    if b"\\u0000" in body and _JSON_NUL.search(body) is not None:
        return True
    # The validate API reads its body as JSON whatever the declared type; any other body may
    # be an urlencoded form, where NUL is written %00.
    return not _is_json(kind) and b"%00" in body


def _plain(charset: str) -> bool:
    try:
        return not charset or codecs.lookup(charset).name in PLAIN_CHARSETS
    except LookupError:
        return True  # decoded as Latin-1


def _is_json(kind: str) -> bool:
    return kind == "application/json" or kind.endswith("+json")


def _content_type(scope: Scope) -> tuple[str, str]:
    """(media type, charset), both lower case ("" when absent)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind, _, params = value.decode("latin-1").partition(";")
            charset = ""
            for param in params.split(";"):
                key, _, val = param.strip().partition("=")
                if key.lower() == "charset":
                    charset = val.strip().strip('"').lower()
            return kind.strip().lower(), charset
    return "", ""


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


class NulMiddleware:
    """Refuses a request that carries NUL (``found``) before any route reads it. A body is
    read whole first (``SecurityMiddleware``, outside this one, bounds its size) and handed
    on as it came."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not _has_body(scope):
            if found(scope):
                await refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        body, more = await _read(receive)
        if more is None:
            return  # the client went away
        if found(scope, body):
            await refuse(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read(receive: Receive) -> tuple[bytes, bool | None]:
    """The whole body, and False; or what came before a disconnect, and None."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` as if nothing had been read: the body in one message, then the rest (a
    disconnect)."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """The 400 for a request that carries NUL, in the style of its door."""
    await answer(Request(scope, receive))(scope, receive, send)


def answer(request: Request) -> Response:
    path: str = request.scope["path"]
    if path.startswith(OAUTH_PATHS) and is_machine_path(path):
        body = {"error": "invalid_request", "error_description": DESCRIPTION}
        return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})
    if is_machine_path(path):
        return JSONResponse({"error": "invalid_request", "message": DESCRIPTION}, status_code=400)
    return renderer(request).page(request, "error.html", status=400, error=error_text("nul"))
