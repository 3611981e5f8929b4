"""Whom the validate API's wrong codes count against (issue 9, item 1; RL-03, RL-05): the
integration's own budget and, when the integration is trusted for it, the end user's address
(``client_ip``), never the address the integration calls from, which all its users share. Made-up
names spend the same budgets as real ones; a client_ip from an integration not trusted for it is
ignored (and the audit row says so)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.store.models import AuditEvent, RateCounter
from tests.conftest import FakeClock
from tests.integration.validate.conftest import (
    bearer,
    code,
    new_key,
    person_with_totp,
    wrong_code,
)

URL = "/api/v1/validate"
PER_ADDRESS = 10  # the smallest code_failures_per_ip allowed
PER_INTEGRATION = 100  # the smallest code_failures_per_integration allowed
ATTACKER = "203.0.113.66"
PEOPLE = {"bob": "198.51.100.2", "carol": "198.51.100.3", "dave": "2001:db8::4"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "public_url": "http://localhost",
        "code_failures_per_ip": PER_ADDRESS,
        "code_failures_per_integration": PER_INTEGRATION,
    }


@pytest.fixture
def seeds(runtime: Runtime, clock: FakeClock) -> dict[str, str]:
    """bob, carol and dave (the integration's users) and mallory (the attacker's own account),
    each with an authenticator app."""
    made = {name: person_with_totp(runtime, clock, name) for name in [*PEOPLE, "mallory"]}
    clock.advance(seconds=30)
    return made


def _check(
    client: TestClient, key: str, username: str, code: str, client_ip: str | None = None
) -> dict[str, Any]:
    body = {"username": username, "code": code}
    if client_ip is not None:
        body["client_ip"] = client_ip
    answer = client.post(URL, json=body, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _attack(
    client: TestClient, key: str, mallory: str, clock: FakeClock, count: int, ip: str | None
) -> list[str]:
    """``count`` wrong codes: every other one for the attacker's own account, the rest for
    made-up names."""
    statuses = []
    for n in range(count):
        username = "mallory" if n % 2 else f"made-up-{n}"
        statuses.append(_check(client, key, username, wrong_code(mallory, clock), ip)["status"])
    return statuses


@pytest.mark.parametrize("client_ip", [None, ATTACKER])
def test_an_attacker_behind_the_integration_leaves_its_other_users_signing_in(
    client: TestClient,
    runtime: Runtime,
    seeds: dict[str, str],
    clock: FakeClock,
    client_ip: str | None,
) -> None:
    """Four times the per-address budget of wrong codes and made-up names, sent through the
    integration everyone uses (from its one address): with or without a trusted client_ip,
    everyone else's right code is still accepted."""
    key = new_key(runtime, "vpn", trust_client_ip=client_ip is not None)
    statuses = _attack(client, key, seeds["mallory"], clock, 4 * PER_ADDRESS, client_ip)
    if client_ip is None:  # only the integration's budget, far from spent, and mallory's lock
        assert statuses[0::2] == ["reject"] * (2 * PER_ADDRESS)  # the made-up names
        assert statuses[1::2] == ["reject"] * 9 + ["locked"] * 11  # mallory's own account
    else:  # the attacker's own address is refused once its budget is spent
        assert statuses[:PER_ADDRESS] == ["reject"] * PER_ADDRESS
        assert statuses[PER_ADDRESS:] == ["locked"] * (3 * PER_ADDRESS)
    for name, address in PEOPLE.items():
        ip = address if client_ip is not None else None
        assert _check(client, key, name, code(seeds[name], clock), ip) == {"status": "accept"}
    with runtime.core.store.read() as s:
        keys = {row.key for row in s.query(RateCounter)}
    assert "code-ip:testclient" not in keys  # the integration's own address spends nothing


def test_an_untrusted_client_ip_is_ignored_and_the_audit_row_says_so(
    client: TestClient, runtime: Runtime, seeds: dict[str, str], clock: FakeClock
) -> None:
    untrusted = new_key(runtime, "vpn")
    trusted = new_key(runtime, "gateway", trust_client_ip=True)
    wrong = wrong_code(seeds["mallory"], clock)
    for n in range(PER_ADDRESS + 5):  # the address's budget, had it been counted, is spent
        answer = _check(client, untrusted, f"made-up-{n}", wrong, ATTACKER)
        assert answer == {"status": "reject"}
    # the address's budget is untouched: the same address through a trusted integration
    accepted = _check(client, trusted, "bob", code(seeds["bob"], clock), ATTACKER)
    assert accepted == {"status": "accept"}
    with runtime.core.store.read() as s:
        rows = s.query(AuditEvent).filter(AuditEvent.event.like("validate.%")).all()
        ignored, believed = rows[0], rows[-1]
        assert (ignored.actor, ignored.ip, ignored.user_id) == ("vpn", "testclient", None)
        assert ignored.details["client_ip_ignored"] == ATTACKER
        assert "integration_ip" not in ignored.details
        assert (believed.actor, believed.ip, believed.event) == (
            "gateway",
            ATTACKER,
            "validate.accepted",
        )
        assert believed.details["integration_ip"] == "testclient"
        assert "client_ip_ignored" not in believed.details
        counters = {row.key: row.count for row in s.query(RateCounter)}
    assert f"code-ip:{ATTACKER}" not in counters
    assert "code-ip:testclient" not in counters


def test_a_trusted_client_ip_spends_that_address_budget_whatever_its_spelling(
    client: TestClient, runtime: Runtime, seeds: dict[str, str], clock: FakeClock
) -> None:
    """Made-up names from one end-user address lock that address (an IPv4-mapped IPv6
    spelling is the same address), right codes from it too, until the window has passed;
    the same person from another address is accepted meanwhile. RL-05."""
    key = new_key(runtime, "vpn", trust_client_ip=True)
    spellings = [ATTACKER, f"::ffff:{ATTACKER}"]
    for n in range(PER_ADDRESS):
        answer = _check(client, key, f"made-up-{n}", "123456", spellings[n % 2])
        assert answer == {"status": "reject"}
    refused = _check(client, key, "bob", code(seeds["bob"], clock), ATTACKER)
    assert refused["status"] == "locked" and 0 < refused["retry_after"] <= 900
    other = _check(client, key, "bob", code(seeds["bob"], clock), PEOPLE["bob"])
    assert other == {"status": "accept"}
    clock.advance(seconds=901)
    again = _check(client, key, "carol", code(seeds["carol"], clock), ATTACKER)
    assert again == {"status": "accept"}


def test_the_integration_budget_is_its_own_and_refuses_only_that_integration(
    client: TestClient, runtime: Runtime, seeds: dict[str, str], clock: FakeClock
) -> None:
    """Wrong codes through one integration, from any number of addresses, are limited by its
    own budget; another integration is not affected, and the budget renews with the window."""
    vpn = new_key(runtime, "vpn", trust_client_ip=True)
    radius = new_key(runtime, "radius")
    for n in range(PER_INTEGRATION):  # each from an address of its own
        answer = _check(client, vpn, f"made-up-{n}", "123456", f"192.0.2.{n + 1}")
        assert answer == {"status": "reject"}, n
    refused = _check(client, vpn, "bob", code(seeds["bob"], clock), PEOPLE["bob"])
    assert refused["status"] == "locked" and 0 < refused["retry_after"] <= 900
    assert _check(client, radius, "bob", code(seeds["bob"], clock)) == {"status": "accept"}
    clock.advance(seconds=901)
    assert _check(client, vpn, "carol", code(seeds["carol"], clock), PEOPLE["carol"]) == {
        "status": "accept"
    }


def test_a_push_start_shows_and_records_the_trusted_client_ip(
    client: TestClient, runtime: Runtime, seeds: dict[str, str]
) -> None:
    """A push start with a client_ip: recorded from a trusted integration, ignored (and said
    so) from another; the integration's own address is kept in the details."""
    trusted = new_key(runtime, "gateway", trust_client_ip=True)
    untrusted = new_key(runtime, "vpn")
    for key in (trusted, untrusted):
        body = {"username": "bob", "method": "push", "client_ip": ATTACKER}
        answer = client.post(URL, json=body, headers=bearer(key))
        assert answer.json() == {"status": "reject"}  # bob has no push device
    with runtime.core.store.read() as s:
        rows = s.query(AuditEvent).filter(AuditEvent.event == "validate.rejected").all()
    assert [(r.actor, r.ip) for r in rows] == [("gateway", ATTACKER), ("vpn", "testclient")]
    assert rows[0].details["integration_ip"] == "testclient"
    assert rows[1].details["client_ip_ignored"] == ATTACKER
