"""The validate API with SMS codes: {"username", "method": "sms"} sends a code and answers with
a transaction id; {"transaction_id", "code"} checks it: accept once, reject for a wrong code,
locked after too many; the send budgets refuse (and audit) before a gateway is called."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent
from tests.conftest import FakeClock
from tests.integration.push.simapp import add_push_device
from tests.integration.sms.conftest import add_phone, last_code, person, texts
from tests.integration.validate.conftest import bearer, new_key
from tests.integration.web import flows

URL = "/api/v1/validate"


@pytest.fixture
def settings_overrides(sms_file: Path) -> dict[str, Any]:
    return {
        "sms_gateway": "file",
        "sms_file": sms_file,
        "public_url": "http://localhost",
        "methods": {"sms": {"per_number_hour": 3, "resend_seconds": 0}},
    }


@pytest.fixture
def key(runtime: Runtime) -> str:
    return new_key(runtime, "vpn")


def _send(client: TestClient, key: str, username: str = "bob") -> dict[str, Any]:
    answer = client.post(URL, json={"username": username, "method": "sms"}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _check(client: TestClient, key: str, tx: str, code: str) -> Any:
    return client.post(URL, json={"transaction_id": tx, "code": code}, headers=bearer(key))


def test_a_code_sent_by_the_api_is_accepted_once(
    client: TestClient, key: str, runtime: Runtime, sms_file: Path
) -> None:
    add_phone(runtime, sms_file, person(runtime, "bob"))
    started = _send(client, key)
    assert started["status"] == "pending" and started["transaction_id"]
    tx = started["transaction_id"]
    code = last_code(runtime, sms_file)
    assert _check(client, key, tx, code).json() == {"status": "accept"}
    assert _check(client, key, tx, code).json() == {"status": "reject"}
    assert client.get(f"{URL}/{tx}", headers=bearer(key)).json() == {"status": "reject"}
    with runtime.core.store.read() as s:
        accepted = s.query(AuditEvent).filter_by(event="validate.accepted").one()
        assert accepted.method == "sms" and accepted.actor == "vpn"


def test_a_wrong_code_is_rejected_and_the_fifth_ends_it(
    client: TestClient, key: str, runtime: Runtime, sms_file: Path
) -> None:
    add_phone(runtime, sms_file, person(runtime, "bob"))
    tx = _send(client, key)["transaction_id"]
    code = last_code(runtime, sms_file)
    wrong = "000000" if code != "000000" else "111111"
    assert [_check(client, key, tx, wrong).json()["status"] for _ in range(5)] == ["reject"] * 5
    assert _check(client, key, tx, code).json() == {"status": "reject"}


def test_only_the_integration_that_sent_it_may_answer(
    client: TestClient, key: str, runtime: Runtime, sms_file: Path
) -> None:
    add_phone(runtime, sms_file, person(runtime, "bob"))
    tx = _send(client, key)["transaction_id"]
    other = new_key(runtime, "wifi")
    assert _check(client, other, tx, last_code(runtime, sms_file)).status_code == 404
    assert _check(client, key, "nosuchtx", "123456").status_code == 404
    assert _check(client, key, tx, last_code(runtime, sms_file)).json() == {"status": "accept"}


@pytest.mark.parametrize(
    "body",
    [
        {"transaction_id": "abc"},
        {"transaction_id": "abc", "code": "123456", "username": "bob"},
        {"transaction_id": "abc", "method": "sms"},
        {"transaction_id": "abc", "code": "123456", "client_ip": "192.0.2.1"},
        {"transaction_id": "a/b", "code": "123456"},
        {"transaction_id": "", "code": "123456"},
    ],
)
def test_a_malformed_answer_is_a_400(client: TestClient, key: str, body: dict[str, Any]) -> None:
    answer = client.post(URL, json=body, headers=bearer(key))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_a_push_transaction_is_not_answered_with_a_code(
    client: TestClient, key: str, alice: UserRef, clock: FakeClock
) -> None:
    seed = flows.enrolled_user(client, clock)
    flows.post_password(client)
    flows.submit_code(client, flows.code_at(seed, clock))
    add_push_device(client, clock)
    answer = client.post(URL, json={"username": "alice", "method": "push"}, headers=bearer(key))
    tx = answer.json()["transaction_id"]
    refused = _check(client, key, tx, "123456")
    assert refused.status_code == 400 and "not answered with a code" in refused.json()["message"]


def test_a_person_without_a_phone_gets_reject_and_nothing_is_sent(
    client: TestClient, key: str, runtime: Runtime, sms_file: Path
) -> None:
    person(runtime, "bob")
    assert _send(client, key) == {"status": "reject"}
    assert _send(client, key, "nobody") == {"status": "reject"}
    assert texts(runtime, sms_file) == []


def test_the_number_budget_refuses_and_is_audited(
    client: TestClient, key: str, runtime: Runtime, sms_file: Path
) -> None:
    add_phone(runtime, sms_file, person(runtime, "bob"))  # the first of 3 codes this hour
    assert _send(client, key)["status"] == "pending"
    assert _send(client, key)["status"] == "pending"
    refused = _send(client, key)
    assert refused["status"] == "locked" and refused["retry_after"] > 0
    assert len(texts(runtime, sms_file)) == 3  # the refused one never reached the gateway
    with runtime.core.store.read() as s:
        hit = s.query(AuditEvent).filter_by(event="sms.budget_exceeded").one()
        assert hit.details["budget"] == "number" and hit.details["limit"] == 3
