"""Security headers, request-size limit and CSRF (double-submit cookie bound by a keyed hash)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portvakt.crypto import random
from portvakt.crypto.compare import equal
from portvakt.ports import SecretBox

MAX_BODY = 64 * 1024
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action {targets}; frame-ancestors 'none'"
)


def csp(form_targets: Sequence[str] = ()) -> str:
    """The Content-Security-Policy. Browsers apply ``form-action`` to every redirect after a
    form is sent, so a page whose form ends in a redirect to an app (the last sign-in step
    of an OpenID Connect request, logout) must name that app's origin."""
    targets = " ".join(dict.fromkeys(["'self'", *(t for t in form_targets if t)]))
    return _CSP.format(targets=targets)


def source_of(uri: str) -> str | None:
    """The CSP source for a redirect URI: its origin, or ``scheme:`` for a private-use scheme."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme in {"http", "https"} and parts.netloc and "'" not in parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:" if parts.scheme else None


CSP = csp()
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}


class BodyTooLarge(Exception):
    pass


class SecurityMiddleware:
    """Adds headers to every answer (``no-store`` on everything but static files) and refuses
    bodies over ``MAX_BODY`` before they are read into memory."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        https = scope.get("scheme") == "https"
        declared = _content_length(scope)
        api = is_machine_path(scope["path"])
        if declared is not None and declared > MAX_BODY:
            await _too_large(send, api=api, https=https)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _add_headers(message, static=static, https=https)
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _too_large(send, api=api, https=https)


MACHINE_PATHS = (
    "/api/",
    "/oauth2/token",
    "/oauth2/userinfo",
    "/oauth2/introspect",
    "/oauth2/revoke",
    "/oauth2/jwks",
    "/.well-known/",
)


def is_machine_path(path: str) -> bool:
    """Endpoints called by programs: their errors are JSON, never an HTML page."""
    return path.startswith(MACHINE_PATHS)


def machine_headers(*, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers ``SecurityMiddleware`` adds to a machine endpoint's answer, as raw pairs:
    for answers sent ahead of the middleware (``web.api.fast``)."""
    start: Message = {"type": "http.response.start", "headers": []}
    _add_headers(start, static=False, https=https)
    return list(start["headers"])


def _add_headers(message: Message, *, static: bool, https: bool) -> None:
    headers = MutableHeaders(scope=message)
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if not static:
        headers.setdefault("cache-control", "no-store")  # JWKS and discovery say max-age
    if https:
        headers.setdefault("strict-transport-security", "max-age=31536000")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return MAX_BODY + 1
    return None


async def _too_large(send: Send, *, api: bool, https: bool = False) -> None:
    if api:
        body = b'{"error": "too_large", "message": "The request is too large."}'
        kind = b"application/json"
    else:
        body = b"Request too large"
        kind = b"text/plain; charset=utf-8"
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
    }
    _add_headers(start, static=False, https=https)
    await send(start)
    await send({"type": "http.response.body", "body": body})


# -- CSRF ----------------------------------------------------------------------------------------

CSRF_COOKIE = "pv_csrf"
CSRF_FIELD = "csrf_token"


def csrf_cookie_value(request: Request) -> tuple[str, bool]:
    """(cookie value, whether it must be set on the answer)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing, False
    return random.token(), True


def csrf_token_for(box: SecretBox, cookie_value: str) -> str:
    return box.keyed_hash(cookie_value.encode(), purpose="csrf")


def csrf_valid(box: SecretBox, request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or len(submitted) > 128:
        return False
    if not _same_origin(request):
        return False
    return equal(csrf_token_for(box, cookie), submitted)


def _same_origin(request: Request) -> bool:
    """If the browser says where the form came from, it must be us (SES-03)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        # Browsers send "null" under strict referrer policies; Sec-Fetch-Site is set by the
        # browser itself and cannot be forged by a page.
        return request.headers.get("sec-fetch-site") == "same-origin"
    expected = f"{request.url.scheme}://{request.url.netloc}"
    return origin == expected
