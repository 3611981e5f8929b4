"""POST /api/v1/validate with method=push, and GET /api/v1/validate/{id}: pending → approved in
the app (a protocol-level simulated app) → accept, once; waiting returns on the answer; only
the integration that started a push can read it."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.store.models import AuditEvent, Challenge
from tests.conftest import FakeClock
from tests.integration.push.simapp import SimApp, add_push_device
from tests.integration.validate.conftest import bearer, code, new_key, wrong_code
from tests.integration.web import flows

URL = "/api/v1/validate"


def _with_device(client: TestClient, secret: str, clock: FakeClock) -> SimApp:
    flows.post_password(client)
    assert flows.submit_code(client, code(secret, clock)).url.path == "/account"
    app = add_push_device(client, clock)
    flows.sign_out(client)
    return app


def _start(client: TestClient, key: str, username: str = "alice") -> dict[str, Any]:
    answer = client.post(URL, json={"username": username, "method": "push"}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_push_pending_then_approved_accepts_once(
    client: TestClient, key: str, secret: str, clock: FakeClock, runtime: Runtime
) -> None:
    app = _with_device(client, secret, clock)
    started = _start(client, key)
    assert started["status"] == "pending" and started["transaction_id"]
    tx = started["transaction_id"]
    assert client.get(f"{URL}/{tx}", headers=bearer(key)).json() == {"status": "pending"}
    (challenge,) = app.challenges()
    assert challenge["tx"] == tx and challenge["purpose"] == "api"
    assert challenge["context"]["account"] == "alice"
    assert app.approve(challenge, started["number"]).json() == {"state": "approved"}
    assert client.get(f"{URL}/{tx}", headers=bearer(key)).json() == {"status": "accept"}
    assert client.get(f"{URL}/{tx}", headers=bearer(key)).json() == {"status": "reject"}
    with runtime.core.store.read() as s:
        row = s.get(Challenge, tx)
        assert row is not None and row.state == "used"
        accepted = s.query(AuditEvent).filter_by(event="validate.accepted").one()
        assert accepted.door == "api" and accepted.actor == "vpn" and accepted.method == "push"


def test_wait_returns_as_soon_as_the_answer_arrives(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    app = _with_device(client, secret, clock)
    started = _start(client, key)
    tx = started["transaction_id"]
    (challenge,) = app.challenges()
    result: dict[str, Any] = {}

    def wait() -> None:
        began = time.monotonic()
        result["body"] = client.get(f"{URL}/{tx}?wait=20", headers=bearer(key)).json()
        result["seconds"] = time.monotonic() - began

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert app.approve(challenge, started["number"]).status_code == 200
    waiter.join(timeout=15)
    assert not waiter.is_alive()
    assert result["body"] == {"status": "accept"}
    assert result["seconds"] < 10


def test_wait_gives_pending_after_the_time(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    _with_device(client, secret, clock)
    tx = _start(client, key)["transaction_id"]
    began = time.monotonic()
    assert client.get(f"{URL}/{tx}?wait=1", headers=bearer(key)).json() == {"status": "pending"}
    assert 0.9 <= time.monotonic() - began < 5


def test_denied_and_expired_are_rejected(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    app = _with_device(client, secret, clock)
    tx = _start(client, key)["transaction_id"]
    (challenge,) = app.challenges()
    assert app.deny(challenge).json() == {"state": "denied"}
    assert client.get(f"{URL}/{tx}", headers=bearer(key)).json() == {"status": "reject"}
    second = _start(client, key)["transaction_id"]
    clock.advance(seconds=61)
    assert client.get(f"{URL}/{second}", headers=bearer(key)).json() == {"status": "reject"}


def test_a_newer_push_supersedes_the_older(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    _with_device(client, secret, clock)
    first = _start(client, key)["transaction_id"]
    _start(client, key)
    assert client.get(f"{URL}/{first}", headers=bearer(key)).json() == {"status": "reject"}


def test_another_integration_gets_404(
    client: TestClient, key: str, secret: str, clock: FakeClock, runtime: Runtime
) -> None:
    app = _with_device(client, secret, clock)
    started = _start(client, key)
    tx = started["transaction_id"]
    other = new_key(runtime, "other")
    (challenge,) = app.challenges()
    app.approve(challenge, started["number"])
    answer = client.get(f"{URL}/{tx}", headers=bearer(other))
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"
    assert client.get(f"{URL}/unknown", headers=bearer(key)).status_code == 404
    # the rightful integration still gets its answer
    assert client.get(f"{URL}/{tx}", headers=bearer(key)).json() == {"status": "accept"}


def test_push_for_a_pages_signin_is_not_readable(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    _with_device(client, secret, clock)
    flows.post_password(client)
    page = client.post("/signin/push", data={"csrf_token": flows.token(client)})
    tx = page.url.params["tx"]
    assert client.get(f"{URL}/{tx}", headers=bearer(key)).status_code == 404


def test_push_without_device_or_user_is_rejected(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    assert _start(client, key) == {"status": "reject"}
    assert _start(client, key, "nobody") == {"status": "reject"}


def test_push_while_locked_is_locked(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    _with_device(client, secret, clock)
    wrong = wrong_code(secret, clock)
    for _ in range(10):
        client.post(URL, json={"username": "alice", "code": wrong}, headers=bearer(key))
    body = _start(client, key)
    assert body["status"] == "locked" and body["retry_after"] > 0
