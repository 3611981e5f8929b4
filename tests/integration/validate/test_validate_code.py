"""POST /api/v1/validate with a typed code: API keys, accept/reject, replay, no enumeration,
lockout shared with the pages, and bad input answered with 4xx JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent, Integration
from tests.conftest import PASSWORD, FakeClock
from tests.integration.validate.conftest import bearer, code, new_key, wrong_code
from tests.integration.web import flows

URL = "/api/v1/validate"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer pvk_not-a-key"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer " + "pvk_" + "x" * 500},
    ],
)
def test_missing_or_wrong_key_is_401_json(
    client: TestClient, key: str, headers: dict[str, str]
) -> None:
    answer = client.post(URL, json={"username": "alice", "code": "123456"}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"
    poll = client.get(f"{URL}/abc", headers=headers)
    assert poll.status_code == 401 and poll.json()["error"] == "unauthorized"


def test_right_code_accepts_wrong_rejects_replay_rejects(
    client: TestClient, key: str, secret: str, clock: FakeClock, runtime: Runtime
) -> None:
    wrong = client.post(
        URL, json={"username": "alice", "code": wrong_code(secret, clock)}, headers=bearer(key)
    )
    assert wrong.status_code == 200 and wrong.json() == {"status": "reject"}
    right = code(secret, clock)
    ok = client.post(URL, json={"username": "Alice", "code": right}, headers=bearer(key))
    assert ok.json() == {"status": "accept"}
    replay = client.post(URL, json={"username": "alice", "code": right}, headers=bearer(key))
    assert replay.json() == {"status": "reject"}
    with runtime.core.store.read() as s:
        events = s.query(AuditEvent).filter(AuditEvent.event.like("validate.%")).all()
        assert [e.event for e in events] == [
            "validate.rejected",
            "validate.accepted",
            "validate.rejected",
        ]
        assert {e.door for e in events} == {"api"} and {e.actor for e in events} == {"vpn"}
        assert s.query(AuditEvent).filter_by(event="factor.replay").count() == 1


@pytest.mark.parametrize("username", ["nobody", "bad name!", "x" * 200])
def test_unknown_user_is_rejected_like_a_wrong_code(
    client: TestClient, key: str, secret: str, clock: FakeClock, username: str, runtime: Runtime
) -> None:
    answer = client.post(
        URL, json={"username": username, "code": code(secret, clock)}, headers=bearer(key)
    )
    assert answer.status_code == 200 and answer.json() == {"status": "reject"}
    with runtime.core.store.read() as s:
        event = s.query(AuditEvent).filter_by(event="validate.rejected").one()
        assert event.user_id is None and event.door == "api"


def test_disabled_user_is_rejected(
    client: TestClient, key: str, secret: str, clock: FakeClock, runtime: Runtime
) -> None:
    from portvakt.store.models import User

    with runtime.core.store.write() as s:
        user = s.query(User).filter_by(username="alice").one()
        user.disabled = True
    answer = client.post(
        URL, json={"username": "alice", "code": code(secret, clock)}, headers=bearer(key)
    )
    assert answer.json() == {"status": "reject"}


def test_lockout_after_ten_wrong_and_shared_with_the_pages(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    wrong = {"username": "alice", "code": wrong_code(secret, clock)}
    for _ in range(9):
        assert client.post(URL, json=wrong, headers=bearer(key)).json() == {"status": "reject"}
    # the tenth failure, on the sign-in page, locks the API too
    assert flows.post_password(client, password=PASSWORD).url.path == "/signin/factor"
    assert flows.submit_code(client, wrong["code"]).status_code == 429
    locked = client.post(
        URL, json={"username": "alice", "code": code(secret, clock)}, headers=bearer(key)
    )
    body = locked.json()
    assert body["status"] == "locked" and 0 < body["retry_after"] <= 300
    clock.advance(seconds=301)
    assert client.post(
        URL, json={"username": "alice", "code": code(secret, clock)}, headers=bearer(key)
    ).json() == {"status": "accept"}


def test_ten_wrong_through_the_api_lock(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    wrong = {"username": "alice", "code": wrong_code(secret, clock)}
    answers = [client.post(URL, json=wrong, headers=bearer(key)).json() for _ in range(10)]
    assert answers[:9] == [{"status": "reject"}] * 9
    assert answers[9]["status"] == "locked" and answers[9]["retry_after"] == 300
    flows.post_password(client)
    assert flows.submit_code(client, code(secret, clock)).status_code == 429


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'"text"',
        b'{"username": "alice"}',
        b'{"code": "123456"}',
        b'{"username": "alice", "code": "123456", "extra": 1}',
        b'{"username": "alice", "code": "123456", "method": "push"}',
        b'{"username": "alice", "method": "voice"}',
        b'{"username": "alice", "code": 123456}',
        b'{"username": "' + b"a" * 300 + b'", "code": "123456"}',
        b'{"username": "alice", "code": "' + b"1" * 100 + b'"}',
        b'{"username": "", "code": "123456"}',
        b'{"username": "alice", "code": "\\ud800"}',
        b'{"username": "alice", "code": "123456", "client_ip": "300.1.1.1"}',
        b'{"username": "alice", "code": "123456", "client_ip": ["192.0.2.1"]}',
        b'{"username": "alice", "method": "push", "client_ip": "localhost"}',
        b'{"username": "alice", "method": "push", "client_ip": "\\u0000"}',
        b"\xff\xfe",
    ],
)
def test_bad_bodies_are_4xx_json(client: TestClient, key: str, alice: UserRef, body: bytes) -> None:
    answer = client.post(
        URL, content=body, headers={**bearer(key), "content-type": "application/json"}
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]


def test_huge_body_is_413(client: TestClient, key: str) -> None:
    """Bodies over the server-wide limit are refused by the security middleware (plain text)."""
    body = b'{"username": "' + b"a" * 100_000 + b'", "code": "1"}'
    answer = client.post(
        URL, content=body, headers={**bearer(key), "content-type": "application/json"}
    )
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"


def test_bad_wait_is_400_json(client: TestClient, key: str) -> None:
    for wait in ("31", "-1", "x"):
        answer = client.get(f"{URL}/abc?wait={wait}", headers=bearer(key))
        assert answer.status_code == 400 and answer.json()["error"]


def test_keys_are_stored_only_as_keyed_hashes(runtime: Runtime, key: str) -> None:
    second = new_key(runtime, "radius-proxy")
    assert key.startswith("pvk_") and len(key) >= 4 + 43 and key != second
    with runtime.core.store.read() as s:
        rows = s.query(Integration).all()
        stored = " ".join(f"{r.name} {r.key_hash}" for r in rows)
        assert key not in stored and second not in stored
        assert key[4:] not in stored


def test_openapi_documents_the_api_but_not_the_pages(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/v1/validate", "/api/v1/validate/{transaction_id}"} <= paths
    assert not any(p.startswith(("/signin", "/account", "/lang", "/healthz")) for p in paths)
    assert "/" not in paths
    body = schema["paths"]["/api/v1/validate"]["post"]["requestBody"]
    assert "username" in body["content"]["application/json"]["schema"]["properties"]
