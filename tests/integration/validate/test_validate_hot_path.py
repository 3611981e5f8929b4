"""The validate API's fast code check keeps its guarantees: simultaneous requests with the same
code accept once (they meet in one write batch on SQLite, in row-locked transactions on
PostgreSQL), a key taken from the key cache stops working as soon as its integration is
deleted, and every check is audited."""

from __future__ import annotations

import asyncio

import httpx
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import integrations
from portvakt.domain import Door
from portvakt.store.models import AuditEvent
from tests.conftest import FakeClock
from tests.integration.validate.conftest import bearer, code, new_key

URL = "/api/v1/validate"


async def _many(client: TestClient, key: str, body: dict[str, str], count: int) -> list[str]:
    """``count`` simultaneous POSTs in one event loop (so the write queue sees them together)."""
    transport = httpx.ASGITransport(app=client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as api:
        answers = await asyncio.gather(
            *(api.post(URL, json=body, headers=bearer(key)) for _ in range(count))
        )
    assert {a.status_code for a in answers} == {200}
    return [a.json()["status"] for a in answers]


def test_same_code_sent_twenty_times_at_once_is_accepted_once(
    client: TestClient, key: str, secret: str, clock: FakeClock, runtime: Runtime
) -> None:
    body = {"username": "alice", "code": code(secret, clock)}
    statuses = asyncio.run(_many(client, key, body, 20))
    # the other nineteen are replays, and count as failures: the tenth locks the account
    assert statuses.count("accept") == 1
    assert set(statuses) - {"accept"} <= {"reject", "locked"}
    with runtime.core.store.read() as s:
        events = [e.event for e in s.query(AuditEvent).filter(AuditEvent.door == "api")]
    assert events.count("validate.accepted") == 1
    assert events.count("validate.rejected") == 19
    assert events.count("factor.replay") == statuses.count("reject") + 1  # + the locking one


def test_different_people_at_once_are_each_accepted(
    client: TestClient, key: str, secret: str, clock: FakeClock
) -> None:
    """One right code and nineteen unknown names in the same batch: the right one is accepted,
    the others are answered like wrong codes."""

    async def mixed() -> list[str]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as api:
            bodies = [{"username": f"nobody{i}", "code": "123456"} for i in range(19)]
            bodies.insert(7, {"username": "alice", "code": code(secret, clock)})
            answers = await asyncio.gather(
                *(api.post(URL, json=b, headers=bearer(key)) for b in bodies)
            )
        return [a.json()["status"] for a in answers]

    statuses = asyncio.run(mixed())
    assert statuses[7] == "accept"
    assert statuses[:7] + statuses[8:] == ["reject"] * 19


def test_a_cached_key_stops_working_when_its_integration_is_deleted(
    client: TestClient, key: str, secret: str, clock: FakeClock, runtime: Runtime
) -> None:
    first = client.post(URL, json={"username": "alice", "code": "000000"}, headers=bearer(key))
    assert first.status_code == 200  # the key is now in the app's key cache
    integrations.delete(runtime.core, runtime.context(Door.CLI, actor="test"), "vpn")
    for body in (
        {"username": "alice", "code": code(secret, clock)},  # a code check
        {"username": "nobody", "code": "123456"},  # a code check for nobody
        {"username": "alice", "method": "push"},  # a push
        {"username": "alice"},  # a bad body
    ):
        answer = client.post(URL, json=body, headers=bearer(key))
        assert answer.status_code == 401, body
        assert answer.json()["error"] == "unauthorized"
    with runtime.core.store.read() as s:
        checks = s.query(AuditEvent).filter(AuditEvent.event.like("validate.%")).count()
    assert checks == 1  # only the first request was checked (and audited)


def test_a_new_key_for_a_new_integration_works_at_once(
    client: TestClient, runtime: Runtime, secret: str, clock: FakeClock
) -> None:
    key = new_key(runtime, "radius")
    body = {"username": "alice", "code": code(secret, clock)}
    assert client.post(URL, json=body, headers=bearer(key)).json() == {"status": "accept"}
