"""The password step cannot be locked for someone else (issue 9 item 3; SECURITY.md RL-05):
budgets per address and per (name, address), a per-name delay instead of a lock, no budget for
a browser the person's remembered device token vouches for, and atomic counting."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import sessions, signin
from portvakt.domain import Door, SignInStage, UserRef
from portvakt.errors import Throttled
from portvakt.store.models import AuditEvent
from tests.conftest import PASSWORD
from tests.integration.web import flows

ATTACKER = "198.51.100.7"
VICTIM = "203.0.113.9"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"password_delay_max_seconds": 1}


def _from(client: TestClient, address: str) -> TestClient:
    return TestClient(client.app, client=(address, 40000))


def _submit(runtime: Runtime, ip: str, password: str, device: str | None = None) -> Any:
    ctx = runtime.context(Door.WEB, ip=ip)
    return signin.submit_password(
        runtime.core, ctx, username="alice", password=password, device_token=device
    )


def test_wrong_passwords_from_one_address_do_not_lock_the_person_elsewhere(
    client: TestClient, alice: UserRef
) -> None:
    """RL-05: ten wrong passwords for alice from one address throttle that address only; her
    right password from her own address still signs her in, after the per-name delay."""
    attacker = _from(client, ATTACKER)
    statuses = [flows.post_password(attacker, "alice", "guess").status_code for _ in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    victim = _from(client, VICTIM)
    started = time.perf_counter()
    answer = flows.post_password(victim)
    assert answer.url.path == "/signin/activate"
    assert time.perf_counter() - started >= 1.0  # the door held the answer (per-name delay)
    attacker.close()
    victim.close()


def test_per_name_delay_grows_and_never_refuses_the_right_password(
    runtime: Runtime, alice: UserRef
) -> None:
    """After ``password_failures_per_account`` failures for a name from many addresses, every
    answer for it waits 1 s, doubling up to the cap; the right password is still accepted."""
    for n in range(10):
        with pytest.raises(signin.WrongPassword) as wrong:
            _submit(runtime, f"192.0.2.{n}", "guess")
        assert wrong.value.wait < 1.0
    with pytest.raises(signin.WrongPassword) as wrong:
        _submit(runtime, "192.0.2.200", "guess")
    assert wrong.value.wait == 1.0
    progress = _submit(runtime, VICTIM, PASSWORD)
    assert progress.stage is SignInStage.ACTIVATION and progress.wait == 1.0


def test_remembered_browser_is_not_throttled_by_an_attacker_on_its_address(
    runtime: Runtime, alice: UserRef
) -> None:
    """A browser holding alice's remembered-device token is exempt from the address and name
    budgets, even behind the attacker's address (one NAT); its own tries count on their own."""
    with runtime.core.store.write() as s:
        device = sessions.remember_device(s, runtime.context(Door.WEB), user_id=alice.id, days=20)
    for _ in range(10):
        with pytest.raises(signin.WrongPassword):
            _submit(runtime, ATTACKER, "guess")
    with pytest.raises(Throttled):
        _submit(runtime, ATTACKER, PASSWORD)
    progress = _submit(runtime, ATTACKER, PASSWORD, device=device)
    assert progress.wait == 0.0
    for _ in range(10):
        with pytest.raises(signin.WrongPassword):
            _submit(runtime, ATTACKER, "guess", device=device)
    with pytest.raises(Throttled):  # the device's own budget
        _submit(runtime, ATTACKER, "guess", device=device)


def test_concurrent_wrong_passwords_check_exactly_the_limit(
    runtime: Runtime, alice: UserRef
) -> None:
    """RL-05: 40 concurrent wrong passwords for one name from one address: exactly 10 are
    checked (the budget is reserved by an atomic upsert before the check), 30 get 429."""
    outcomes: list[str] = []
    start = threading.Barrier(40)

    def attempt() -> None:
        start.wait()
        try:
            _submit(runtime, ATTACKER, "guess")
        except signin.WrongPassword:
            outcomes.append("checked")
        except Throttled:
            outcomes.append("throttled")

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("checked") == 10 and outcomes.count("throttled") == 30
    with runtime.core.store.read() as s:
        checked = s.query(AuditEvent).filter_by(event="signin.password_failed").count()
    assert checked == 10


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_one_address_across_a_thousand_names_is_throttled_while_the_person_signs_in(
    client: TestClient, alice: UserRef
) -> None:
    """RL-05 black box: 1,000 attempts from one address across 1,000 names → that address is
    throttled (429) after its budget; alice signs in from another address meanwhile."""
    attacker = _from(client, ATTACKER)
    statuses = [flows.post_password(attacker, f"name{n}", "guess").status_code for n in range(1000)]
    assert statuses[:50] == [401] * 50
    assert set(statuses[50:]) == {429}
    victim = _from(client, VICTIM)
    assert flows.post_password(victim).url.path == "/signin/activate"
    attacker.close()
    victim.close()
