"""Names that are not a live person (unknown, disabled, malformed) lock through the validate
API exactly as a person's second factor does (issue 9, item 4; RL-02, RL-06): the same answers
after the same wrong codes, the push start included; the lock state is kept under a keyed hash
of the normalised name, counts every failure when they arrive together, and is pruned once
expired."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core.maintenance import prune
from portvakt.domain import Door
from portvakt.store.models import NameLock, User
from tests.conftest import FakeClock
from tests.integration.validate.conftest import bearer, code, person_with_totp, wrong_code

URL = "/api/v1/validate"
Answers = list[dict[str, Any]]


def _send(client: TestClient, key: str, body: dict[str, str]) -> dict[str, Any]:
    answer = client.post(URL, json=body, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _script(
    client: TestClient, key: str, clock: FakeClock, username: str, code_now: Callable[[], str]
) -> Answers:
    """Two lock periods' worth of wrong codes, a right-looking code and a push start during
    each lock, and the answers they got."""
    answers = []

    def check() -> None:
        answers.append(_send(client, key, {"username": username, "code": code_now()}))

    for lock_seconds in (300, 600):
        for _ in range(10):
            check()
        clock.advance(seconds=60)
        check()  # locked, and not counted
        answers.append(_send(client, key, {"username": username, "method": "push"}))
        clock.advance(seconds=lock_seconds - 60 + 1)
    check()  # the 21st failure: a plain reject again
    return answers


@pytest.mark.parametrize("who", ["unknown", "disabled", "malformed"])
def test_a_name_that_is_no_person_locks_like_a_person_after_ten_wrong_codes(
    client: TestClient, key: str, runtime: Runtime, clock: FakeClock, who: str
) -> None:
    erik = person_with_totp(runtime, clock, "erik")
    clock.advance(seconds=30)
    person = _script(client, key, clock, "erik", lambda: wrong_code(erik, clock))
    assert person[9] == {"status": "locked", "retry_after": 300}
    assert person[10] == person[11] == {"status": "locked", "retry_after": 240}
    assert person[21] == {"status": "locked", "retry_after": 600}
    if who == "disabled":  # even the person's right code: a disabled person is nobody
        seed = person_with_totp(runtime, clock, "frida")
        clock.advance(seconds=30)
        with runtime.core.store.write() as s:
            s.query(User).filter_by(username="frida").one().disabled = True
        name, code_now = "frida", lambda: code(seed, clock)
    else:
        name = {"unknown": "nobody", "malformed": "no such name!"}[who]
        code_now = lambda: wrong_code(erik, clock)  # noqa: E731
    assert _script(client, key, clock, name, code_now) == person


def test_a_name_that_is_no_person_is_blocked_after_a_hundred_like_a_person(
    client: TestClient, key: str, runtime: Runtime, clock: FakeClock
) -> None:
    """RL-01's hard limit: the 100th wrong code blocks, and the block does not wear off."""
    erik = person_with_totp(runtime, clock, "erik")
    clock.advance(seconds=30)

    def hundred(username: str) -> Answers:
        answers = []
        for n in range(1, 101):
            body = {"username": username, "code": wrong_code(erik, clock)}
            answers.append(_send(client, key, body))
            if n % 10 == 0 and n < 100:
                clock.advance(seconds=answers[-1]["retry_after"] + 1)
        clock.advance(hours=5)
        answers.append(_send(client, key, {"username": username, "code": "123456"}))
        return answers

    person = hundred("erik")
    assert person[-2:] == [{"status": "locked", "retry_after": 3600}] * 2
    assert hundred("nobody") == person


def test_the_lock_is_kept_under_a_keyed_hash_of_the_normalised_name(
    client: TestClient, key: str, runtime: Runtime
) -> None:
    spellings = ["Nobody.Here", "NOBODY.here", " nobody.here "]
    answers = [
        _send(client, key, {"username": spellings[n % 3], "code": "123456"}) for n in range(10)
    ]
    assert answers[-1] == {"status": "locked", "retry_after": 300}
    expected = runtime.box.keyed_hash(b"nobody.here", purpose="name-lock")
    with runtime.core.store.read() as s:
        rows = s.query(NameLock).all()
        assert [(r.name_hash, r.failures, r.lockouts) for r in rows] == [(expected, 10, 1)]


def test_wrong_codes_for_one_unknown_name_sent_together_all_count(
    client: TestClient, key: str
) -> None:
    """Twenty at once: the tenth locks, as for a person (whose row is locked while checked)."""

    async def together() -> list[str]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as api:
            body = {"username": "nobody", "code": "123456"}
            answers = await asyncio.gather(
                *(api.post(URL, json=body, headers=bearer(key)) for _ in range(20))
            )
        return [a.json()["status"] for a in answers]

    statuses = asyncio.run(together())
    assert statuses.count("reject") == 9 and statuses.count("locked") == 11


def test_maintenance_prunes_name_locks_once_expired(
    client: TestClient, key: str, runtime: Runtime, clock: FakeClock
) -> None:
    """A name's state goes a day after its last failure with no lock in force; a block goes
    after 30 days."""
    for _ in range(3):
        _send(client, key, {"username": "few", "code": "123456"})
    for _ in range(10):
        _send(client, key, {"username": "locked", "code": "123456"})
    with runtime.core.store.write() as s:
        s.add(
            NameLock(
                name_hash="b" * 64,
                failures=100,
                lockouts=10,
                locked_until=clock.now(),
                blocked=True,
                updated_at=clock.now(),
            )
        )
    ctx = runtime.context(Door.CLI)

    def kept() -> int:
        with runtime.core.store.read() as s:
            return s.query(NameLock).count()

    clock.advance(hours=23)
    assert prune(runtime.core, ctx)["name_locks"] == 0 and kept() == 3
    clock.advance(hours=1)  # a day after the last failure, but not after the lock's end
    assert prune(runtime.core, ctx)["name_locks"] == 1 and kept() == 2
    clock.advance(minutes=5)  # a day after the lock's end
    assert prune(runtime.core, ctx)["name_locks"] == 1 and kept() == 1
    clock.advance(days=28, hours=23)  # 29 days 23 hours and 5 minutes after the block
    assert prune(runtime.core, ctx)["name_locks"] == 0 and kept() == 1
    clock.advance(hours=1)
    assert prune(runtime.core, ctx)["name_locks"] == 1 and kept() == 0
