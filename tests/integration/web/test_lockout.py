"""Second-factor throttling (RL-01, RL-02) through the pages, and unlock by an operator."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import users
from portvakt.domain import Door, UserRef
from portvakt.store.models import AuditEvent, User
from tests.conftest import FakeClock
from tests.integration.web import flows


def _wrong(secret: str, clock: FakeClock) -> str:
    good = flows.code_at(secret, clock)
    return f"{(int(good) + 500_000) % 1_000_000:06d}"


def _fail(client: TestClient, secret: str, clock: FakeClock, times: int) -> list[int]:
    return [flows.submit_code(client, _wrong(secret, clock)).status_code for _ in range(times)]


def test_tenth_wrong_code_locks_with_429_and_retry_after(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    """RL-02: failures 1–9 → 401; the 10th → 429 + Retry-After; during the lock a right code
    gets the same 429 and nothing is counted; after 5 minutes a right code works and resets."""
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert _fail(client, secret, clock, 9) == [401] * 9
    tenth = flows.submit_code(client, _wrong(secret, clock))
    assert tenth.status_code == 429
    assert 290 <= int(tenth.headers["retry-after"]) <= 300
    clock.advance(minutes=1)
    locked = flows.submit_code(client, flows.code_at(secret, clock))
    assert locked.status_code == 429
    with runtime.core.store.read() as s:
        row = s.get(User, alice.id)
        assert row is not None and row.factor_failures == 10
        assert s.query(AuditEvent).filter_by(event="factor.locked").count() == 1
    clock.advance(minutes=4, seconds=1)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    with runtime.core.store.read() as s:
        row = s.get(User, alice.id)
        assert row is not None and row.factor_failures == 0


def test_second_lock_lasts_twice_as_long(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    _fail(client, secret, clock, 10)
    clock.advance(minutes=5, seconds=1)
    flows.post_password(client)
    statuses = _fail(client, secret, clock, 10)
    assert statuses[-1] == 429
    assert statuses[:-1] == [401] * 9


def test_hundred_failures_block_until_operator_unlocks(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    """RL-01: at 100 consecutive failures the second factor is blocked; a right code is refused
    until an audited unlock."""
    secret = flows.enrolled_user(client, clock)
    for _round in range(10):
        flows.post_password(client)
        _fail(client, secret, clock, 10)
        clock.advance(hours=1, seconds=1)
    flows.post_password(client)
    blocked = flows.submit_code(client, flows.code_at(secret, clock))
    assert blocked.status_code == 429 and "helpdesk" in blocked.text
    with runtime.core.store.read() as s:
        row = s.get(User, alice.id)
        assert row is not None and row.factor_blocked and row.factor_failures == 100
    users.unlock(runtime.core, runtime.context(Door.CLI, actor="op"), "alice")
    clock.advance(seconds=30)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    with runtime.core.store.read() as s:
        unlock = s.query(AuditEvent).filter_by(event="factor.unlocked").one()
        assert unlock.actor == "op"


def test_password_attempts_are_throttled_per_account_name(
    client: TestClient, alice: UserRef
) -> None:
    """RL-05/RL-06: ten wrong passwords for a name → 429, for existing and unknown names alike."""
    for name in ("alice", "nobody"):
        statuses = [
            flows.post_password(client, name, "wrong-password").status_code for _ in range(11)
        ]
        assert statuses[:10] == [401] * 10
        assert statuses[10] == 429
    assert flows.post_password(client, "alice").status_code == 429
