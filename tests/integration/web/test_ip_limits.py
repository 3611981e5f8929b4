"""Per-IP budgets for passwords and codes (RL-05): one address hammering many accounts is
stopped, while the same person from another address still signs in."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import users
from portvakt.domain import Door, UserRef
from tests.conftest import PASSWORD, FakeClock
from tests.integration.web import flows


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"password_attempts_per_ip": 5, "code_failures_per_ip": 10}


def _from(client: TestClient, address: str) -> TestClient:
    return TestClient(client.app, client=(address, 40000))


def test_password_attempts_are_limited_per_address(client: TestClient, alice: UserRef) -> None:
    attacker = _from(client, "198.51.100.7")
    statuses = [
        flows.post_password(attacker, f"user{n}", "guess-guess").status_code for n in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    assert flows.post_password(attacker).status_code == 429
    elsewhere = _from(client, "203.0.113.9")
    assert flows.post_password(elsewhere).url.path == "/signin/activate"
    attacker.close()
    elsewhere.close()


def test_code_failures_are_limited_per_address_across_accounts(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    users.add(runtime.core, runtime.context(Door.CLI), username="bob", password=PASSWORD)
    secrets = {}
    for name in ("alice", "bob"):
        flows.post_password(client, name)
        secrets[name] = flows.activate_totp(client, clock)
        flows.sign_out(client)
    clock.advance(seconds=30)
    attacker = _from(client, "198.51.100.7")
    for name in ("alice", "bob"):
        flows.post_password(attacker, name)
        assert [flows.submit_code(attacker, "000000").status_code for _ in range(5)] == [401] * 5
    flows.post_password(attacker, "bob")
    blocked = flows.submit_code(attacker, flows.code_at(secrets["bob"], clock))
    assert blocked.status_code == 429 and "retry-after" in blocked.headers
    elsewhere = _from(client, "203.0.113.9")
    flows.post_password(elsewhere, "bob")
    ok = flows.submit_code(elsewhere, flows.code_at(secrets["bob"], clock))
    assert ok.url.path == "/account"
    attacker.close()
    elsewhere.close()
