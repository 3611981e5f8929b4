"""web.nul: NUL is found wherever a request carries it to the database (path, query string,
urlencoded, multipart and JSON bodies, the ``\\u0000`` escape too), and only there; the
middleware hands every other request on with its body intact (issue 9, item 5)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send

from portvakt.web import nul

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data; boundary=xx"


def _scope(
    *, path: str = "/api/v1/validate", query: bytes = b"", content_type: str | None = None
) -> Scope:
    headers = [(b"content-type", content_type.encode())] if content_type else []
    return {"type": "http", "path": path, "query_string": query, "headers": headers}


@pytest.mark.parametrize(
    ("scope", "body"),
    [
        (_scope(path="/api/v1/validate/ab\x00cd"), b""),
        (_scope(query=b"client_id=a%00b"), b""),
        (_scope(query=b"client_id=a\x00b"), b""),
        (_scope(content_type=FORM), b"client_id=a%00b"),
        (_scope(content_type=FORM), b"client_id=a\x00b"),
        (_scope(content_type=JSON), b'{"username": "a\\u0000"}'),
        (_scope(content_type=JSON), b'{"username": "a\\\\\\u0000"}'),  # \\ then \u0000
        (_scope(content_type=JSON), b'{"username": "a\x00"}'),
        (_scope(), b'{"username": "a\\u0000"}'),  # the validate API reads JSON untyped
        (_scope(content_type="text/plain"), b'{"username": "a\\u0000"}'),
        (_scope(content_type=FORM), b'{"username": "a\\u0000"}'),
        (_scope(content_type=MULTIPART), b"--xx\r\nname\x00\r\n--xx--"),
        (_scope(content_type=MULTIPART + "; charset=utf-7"), b"--xx\r\n+AAA-\r\n--xx--"),
        (_scope(content_type=MULTIPART + "; charset=unicode_escape"), b"--xx\r\n\\x00\r\n--xx--"),
    ],
)
def test_nul_is_found(scope: Scope, body: bytes) -> None:
    assert nul.found(scope, body)


@pytest.mark.parametrize(
    ("scope", "body"),
    [
        (_scope(query=b"x=%2500&y=%5Cu0000"), b""),  # the text "%00", "\u0000"
        (_scope(content_type=FORM), b"password=%2500&x=%5Cu0000"),
        (_scope(content_type=JSON), b'{"username": "a\\\\u0000"}'),  # the text "\u0000"
        (_scope(content_type=JSON), b'{"note": "50%00 off"}'),  # "%00" is text in JSON
        (_scope(content_type="application/jwt+json"), b'{"a": "%00"}'),
        (_scope(content_type=MULTIPART), b"--xx\r\n%00 and \\u0000 as text\r\n--xx--"),
        (_scope(content_type=MULTIPART + '; charset="UTF-8"'), b"--xx\r\nx\r\n--xx--"),
        (_scope(content_type=MULTIPART + "; charset=latin1"), b"--xx\r\nx\r\n--xx--"),
        (_scope(content_type=MULTIPART + "; charset=no-such-thing"), b"--xx\r\nx\r\n--xx--"),
        (_scope(), b""),
    ],
)
def test_text_that_only_spells_nul_is_not_nul(scope: Scope, body: bytes) -> None:
    assert not nul.found(scope, body)


class _App:
    """Records what reached it and answers 299."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        body = b""
        if scope["type"] == "http":
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.bodies.append(body)
            await send({"type": "http.response.start", "status": 299, "headers": []})
            await send({"type": "http.response.body", "body": b""})


def _run(scope: Scope, chunks: list[bytes], *, disconnect: bool = False) -> tuple[_App, list[int]]:
    app = _App()
    messages: list[Message] = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    if disconnect:
        messages[-1]["more_body"] = True
        messages.append({"type": "http.disconnect"})
    statuses: list[int] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    asyncio.run(nul.NulMiddleware(app)(scope, receive, send))
    return app, statuses


def test_a_clean_body_reaches_the_app_whole() -> None:
    scope = _scope(content_type=JSON)
    scope["headers"].append((b"content-length", b"12"))
    app, statuses = _run(scope, [b'{"a":', b' "b"}'])
    assert app.bodies == [b'{"a": "b"}'] and statuses == [299]


def test_a_request_without_a_body_is_not_read() -> None:
    app, statuses = _run(_scope(path="/api/app/v1/events"), [b""])
    assert app.bodies == [b""] and statuses == [299]


def test_a_client_that_goes_away_gets_no_answer() -> None:
    scope = _scope(content_type=JSON)
    scope["headers"].append((b"transfer-encoding", b"chunked"))
    app, statuses = _run(scope, [b'{"a":'], disconnect=True)
    assert app.bodies == [] and statuses == []


def test_other_scopes_pass_through() -> None:
    app = _App()

    async def nothing() -> Message:
        return {"type": "lifespan.startup"}

    async def ignore(_message: Message) -> None:
        return None

    asyncio.run(nul.NulMiddleware(app)({"type": "lifespan"}, nothing, ignore))
    assert app.scopes == [{"type": "lifespan"}]
