"""The validate API's fast path (``web.api.fast``): a code check with a cached key is answered
ahead of the FastAPI stack, with the same status, headers and body the route gives; everything
else reaches the FastAPI app with its body intact; a failure is a JSON 500 without a trace."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from portvakt.core import integrations
from portvakt.core import validate as core_validate
from portvakt.domain import Door
from portvakt.web.api import fast
from portvakt.web.schemas.validate import CLIENT_IP_ERROR
from tests.conftest import FakeClock
from tests.integration.validate.conftest import bearer, code, wrong_code

URL = "/api/v1/validate"


@dataclass
class Answer:
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header_map(self) -> dict[str, str]:
        return dict(self.headers)


def _scope(headers: dict[str, str], *, scheme: str = "http", method: str = "POST") -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.9", 50000),
        "server": ("testserver", 80),
    }


def _receive(chunks: list[bytes], *, disconnect: bool = False) -> Receive:
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        messages[-1]["more_body"] = True
        messages.append({"type": "http.disconnect"})

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


async def _call(app: Any, chunks: list[bytes], headers: dict[str, str], **options: Any) -> Answer:
    """One request through ``app`` (any ASGI callable), as raw ASGI messages."""
    answer = Answer()
    disconnect = options.pop("disconnect", False)

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = [(k.decode(), v.decode()) for k, v in message["headers"]]
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(_scope(headers, **options), _receive(chunks, disconnect=disconnect), send)
    return answer


def _body(**fields: str) -> bytes:
    return json.dumps(fields).encode()


def _warm(client: TestClient, key: str) -> None:
    """One check through the route: the key is now in the app's key cache."""
    answer = client.post(URL, json={"username": "nobody", "code": "000000"}, headers=bearer(key))
    assert answer.json() == {"status": "reject"}


class Spy:
    """The rest of the app, as the fast path hands a request on: records what it was given."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _fast(app: FastAPI, spy: Spy) -> Any:
    async def call(scope: Scope, receive: Receive, send: Send) -> None:
        await fast.serve(app, scope, receive, send, spy)

    return call


def test_the_fast_answer_is_the_routes_answer(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    """Same status, headers (the security headers included) and body, for a reject and an
    accept, over http and https; and the fast path really answered (the spy saw nothing)."""
    app = client.app
    assert isinstance(app, FastAPI)
    headers = {**bearer(key), "content-type": "application/json", "user-agent": "vpn/1"}
    _warm(client, key)
    spy = Spy()
    for scheme in ("http", "https"):
        wrong = [_body(username="alice", code=wrong_code(secret, clock))]
        route = asyncio.run(_call(lambda *a: FastAPI.__call__(app, *a), wrong, headers))
        quick = asyncio.run(_call(_fast(app, spy), wrong, headers, scheme=scheme))
        assert (
            (quick.status, quick.body)
            == (route.status, route.body)
            == (200, b'{"status":"reject"}')
        )
        expected = route.header_map()
        if scheme == "https":  # the route, over https, would say it too
            expected["strict-transport-security"] = "max-age=31536000"
        assert quick.header_map() == expected
        assert len(quick.headers) == len(expected)  # nothing twice
        clock.advance(seconds=30)
        right = [_body(username="alice", code=code(secret, clock))]
        accepted = asyncio.run(_call(_fast(app, spy), right, headers, scheme=scheme))
        assert (accepted.status, json.loads(accepted.body)) == (200, {"status": "accept"})
        clock.advance(seconds=30)
    assert spy.bodies == []


def test_a_locked_answer_and_a_deleted_key_are_answered_fast(
    client: TestClient, key: str, secret: str, clock: FakeClock, runtime: Any
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)
    spy = Spy()
    statuses = []
    for _ in range(12):
        wrong = [_body(username="alice", code=wrong_code(secret, clock))]
        answer = asyncio.run(_call(_fast(app, spy), wrong, bearer(key)))
        statuses.append(json.loads(answer.body)["status"])
    assert statuses[-1] == "locked"
    assert "retry_after" in json.loads(answer.body)
    assert answer.header_map()["x-content-type-options"] == "nosniff"
    integrations.delete(runtime.core, runtime.context(Door.CLI, actor="test"), "vpn")
    gone = asyncio.run(
        _call(_fast(app, spy), [_body(username="alice", code="123456")], bearer(key))
    )
    assert gone.status == 401
    assert json.loads(gone.body)["error"] == "unauthorized"
    assert gone.header_map()["www-authenticate"] == "Bearer"
    assert gone.header_map()["cache-control"] == "no-store"
    assert spy.bodies == []


@pytest.mark.parametrize(
    "client_ip",
    ["not-an-ip", "", "1.2.3.4.5", "01.2.3.4", "fe80::1%eth0", "1" * 46, "::1" + " " * 60, 7],
)
@pytest.mark.parametrize("method", ["code", "push"])
def test_a_malformed_client_ip_gets_the_routes_400_through_the_fast_path(
    client: TestClient, key: str, client_ip: object, method: str
) -> None:
    """The whole app (the fast path first) answers what the route answers: a 400 that says
    what client_ip must be, never a 500."""
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)
    fields: dict[str, object] = {"username": "alice", "client_ip": client_ip}
    fields.update({"code": "123456"} if method == "code" else {"method": "push"})
    body = [json.dumps(fields).encode()]
    route = asyncio.run(_call(lambda *a: FastAPI.__call__(app, *a), body, bearer(key)))
    whole = asyncio.run(_call(app, body, bearer(key)))
    assert (whole.status, whole.body, whole.headers) == (route.status, route.body, route.headers)
    assert route.status == 400
    expected = {"error": "invalid_request", "message": CLIENT_IP_ERROR}
    assert json.loads(route.body) == expected


def test_a_code_check_with_a_client_ip_is_answered_fast(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)
    spy = Spy()
    wrong = [_body(username="alice", code=wrong_code(secret, clock), client_ip="2001:db8::7")]
    route = asyncio.run(_call(lambda *a: FastAPI.__call__(app, *a), wrong, bearer(key)))
    quick = asyncio.run(_call(_fast(app, spy), wrong, bearer(key)))
    assert (quick.status, quick.body) == (route.status, route.body) == (200, b'{"status":"reject"}')
    assert quick.header_map() == route.header_map()
    right = [_body(username="alice", code=code(secret, clock), client_ip="192.0.2.7")]
    accepted = asyncio.run(_call(_fast(app, spy), right, bearer(key)))
    assert json.loads(accepted.body) == {"status": "accept"}
    assert spy.bodies == []


@pytest.mark.parametrize(
    ("chunks", "why"),
    [
        ([_body(username="alice", method="push")], "a push"),
        ([b'{"username": "alice", "code": '], "malformed JSON"),
        ([_body(username="alice")], "neither code nor method"),
        ([_body(username="alice", code="123456", extra="x")], "an extra field"),
        ([b"x" * 3000, b"y" * 3000], "over 4 KiB in two parts"),
        ([b"z" * 5000], "over 4 KiB at once"),
    ],
)
def test_other_requests_reach_the_app_with_their_body(
    client: TestClient, key: str, chunks: list[bytes], why: str
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)
    spy = Spy()
    answer = asyncio.run(_call(_fast(app, spy), chunks, bearer(key)))
    assert answer.status == 299, why
    assert spy.bodies == [b"".join(chunks)], why


def test_without_a_cached_key_nothing_is_read_before_the_app(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    """No key, a key not yet cached, a declared length over 4 KiB: handed on unread."""
    app = client.app
    assert isinstance(app, FastAPI)
    right = [_body(username="alice", code=code(secret, clock))]
    for headers in (
        {},
        {"authorization": "Basic abc"},
        bearer(key),  # not cached yet
        {**bearer(key), "content-length": "5000"},
        {**bearer(key), "content-length": "nine"},
    ):
        if headers.get("content-length"):
            _warm(client, key)
        spy = Spy()
        answer = asyncio.run(_call(_fast(app, spy), right, headers))
        assert answer.status == 299, headers
        assert spy.bodies == [right[0]]


def test_a_client_gone_during_the_body_gets_nothing(client: TestClient, key: str) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)
    spy = Spy()
    answer = asyncio.run(
        _call(_fast(app, spy), [b'{"username": "al'], bearer(key), disconnect=True)
    )
    assert answer.status == 0
    assert spy.bodies == []


def test_through_the_whole_app_bad_bodies_get_the_routes_answers(
    client: TestClient, key: str
) -> None:
    """End to end over the test client: the fast path's hand-over keeps the route's 400, 413
    and 405 answers (the key is cached, so each request is seen by the fast path first)."""
    _warm(client, key)
    bad = client.post(URL, content=b'{"username": ', headers=bearer(key))
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")
    big = client.post(URL, content=b"{" + b" " * 70_000 + b"}", headers=bearer(key))
    assert (big.status_code, big.json()["error"]) == (413, "too_large")
    mid = client.post(URL, content=b"{" + b" " * 5_000 + b"}", headers=bearer(key))
    assert (mid.status_code, mid.json()["error"]) == (400, "invalid_request")
    wrong_method = client.put(URL, json={"username": "a", "code": "1"}, headers=bearer(key))
    assert wrong_method.status_code == 405


def test_a_failing_check_is_a_json_500_without_a_trace(
    client: TestClient, key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)

    async def broken(*_args: Any) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(core_validate, "check", broken)
    answer = asyncio.run(_call(app, [_body(username="alice", code="123456")], bearer(key)))
    assert answer.status == 500
    assert json.loads(answer.body)["error"] == "server_error"
    assert b"fire" not in answer.body and b"Traceback" not in answer.body
    assert answer.header_map()["content-security-policy"]
    assert "the disk is on fire" in caplog.text  # logged for the operator


def test_the_app_hands_code_checks_to_the_fast_path_first(
    client: TestClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PortvaktApp`` itself: a code check with a cached key never reaches the FastAPI stack;
    another request does."""
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)
    stack = Spy()
    monkeypatch.setattr(FastAPI, "__call__", lambda _self, *a: stack(*a))
    check = [_body(username="nobody", code="123456")]
    answer = asyncio.run(_call(app, check, bearer(key)))
    assert (answer.status, answer.body) == (200, b'{"status":"reject"}')
    assert stack.bodies == []
    push = [_body(username="nobody", method="push")]
    assert asyncio.run(_call(app, push, bearer(key))).status == 299
    assert stack.bodies == [push[0]]
