"""NUL never reaches the database through the validate API (issue 9, item 5): PostgreSQL
cannot store it and answered a 500. The transaction id in the path and the JSON body (a raw
byte or the ``\\u0000`` escape) get a 400 ``invalid_request``, on the route and on the fast
path (``web.api.fast``), which hands such a body on to the stack that refuses it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.integration.validate.conftest import bearer
from tests.integration.validate.test_validate_fast_path import Spy, _call, _fast, _warm

URL = "/api/v1/validate"
NUL_BODIES = [
    b'{"username": "al\\u0000ice", "code": "123456"}',
    b'{"username": "alice", "code": "12345\\u0000"}',
    b'{"username": "alice\\\\\\u0000", "code": "123456"}',  # an escaped backslash, then NUL
]


def _no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def _refused(answer_status: int, body: dict[str, str]) -> bool:
    return answer_status == 400 and body["error"] == "invalid_request"


@pytest.mark.parametrize("transaction_id", ["%00", "ab%00cd", "abc%00"])
def test_nul_in_the_transaction_id_gets_400(
    client: TestClient, key: str, caplog: pytest.LogCaptureFixture, transaction_id: str
) -> None:
    answer = client.get(f"{URL}/{transaction_id}", headers=bearer(key))
    assert _refused(answer.status_code, answer.json()), answer.text
    _no_errors(caplog)


@pytest.mark.parametrize("cached", [False, True], ids=["route", "fast path"])
@pytest.mark.parametrize("body", NUL_BODIES)
def test_nul_in_the_body_gets_400(
    client: TestClient,
    key: str,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    cached: bool,
) -> None:
    """With the key cached, a code check is the fast path's; without, the route's."""
    if cached:
        _warm(client, key)
    headers = {**bearer(key), "content-type": "application/json"}
    answer = client.post(URL, content=body, headers=headers)
    assert _refused(answer.status_code, answer.json()), answer.text
    _no_errors(caplog)


def test_the_fast_path_hands_a_body_with_nul_to_the_app(client: TestClient, key: str) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    _warm(client, key)
    spy = Spy()
    answer = asyncio.run(_call(_fast(app, spy), [NUL_BODIES[0]], bearer(key)))
    assert answer.status == 299
    assert spy.bodies == [NUL_BODIES[0]]


def test_an_escaped_backslash_before_u0000_is_text_not_nul(client: TestClient, key: str) -> None:
    """``\\\\u0000`` in JSON is a backslash followed by ``u0000``: not refused."""
    body = b'{"username": "alice\\\\u0000", "code": "123456"}'
    answer = client.post(URL, content=body, headers=bearer(key))
    assert (answer.status_code, answer.json()) == (200, {"status": "reject"})
