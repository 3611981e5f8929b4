"""The Notifier contract (ports.Notifier), run against every implementation: in-process memory,
PostgreSQL LISTEN/NOTIFY and Redis pub/sub. The last two also carry messages between two
notifier objects, each with its own connections, as two server instances would.

Each test runs its own event loop (``asyncio.run``). The servers' tests skip when the server is
unreachable, and fail instead under PORTVAKT_TEST_REQUIRE_POSTGRES=1 (resp. ..._REDIS=1).
Channels are random and the server-side topic is per run, so concurrent suites on the same
servers do not see each other's messages.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
import redis
from psycopg.conninfo import conninfo_to_dict

from portvakt.channels.notify import (
    MAX_PAYLOAD_BYTES,
    QUEUE_SIZE,
    MemoryNotifier,
    PostgresNotifier,
    RedisNotifier,
    conninfo_from_url,
    notifier_from_url,
)
from portvakt.ports import Notifier
from tests.conftest import PG_DSN, PG_URL, postgres_available

REDIS_URL = "redis://127.0.0.1:6379/0"
TOPIC = f"portvakt_test_{secrets.token_hex(4)}"
WAIT = 2.0  # the longest any test waits for a message that should come
QUIET = 0.2  # how long a test listens for a message that should not come

Factory = Callable[[], Notifier]


def redis_available() -> bool:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


_AVAILABLE: dict[str, bool] = {}


def _require(server: str) -> None:
    checks = {"postgres": postgres_available, "redis": redis_available}
    if server not in _AVAILABLE:
        _AVAILABLE[server] = checks[server]()
    if _AVAILABLE[server]:
        return
    variable = f"PORTVAKT_TEST_REQUIRE_{server.upper()}"
    if os.environ.get(variable) == "1":
        pytest.fail(f"{server} on 127.0.0.1 is required ({variable}=1)")
    pytest.skip(f"{server} is not reachable on 127.0.0.1")


def _factory(kind: str, *, name: str = "portvakt-test") -> Factory:
    if kind == "memory":
        return MemoryNotifier
    _require(kind)
    if kind == "postgres":
        # Through the SQLAlchemy URL the app has, schema option included.
        dsn = conninfo_from_url(f"{PG_URL}?options=-csearch_path%3Dpublic&application_name={name}")
        return lambda: PostgresNotifier(dsn, topic=TOPIC)
    return lambda: RedisNotifier(REDIS_URL, topic=TOPIC, client_name=name)


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
def make_notifier(request: pytest.FixtureRequest) -> Factory:
    return _factory(request.param)


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
def make_relay(request: pytest.FixtureRequest) -> Factory:
    """Only the notifiers that reach other instances."""
    return _factory(request.param)


@asynccontextmanager
async def started(factory: Factory) -> AsyncIterator[Notifier]:
    notifier = factory()
    await notifier.start()
    try:
        yield notifier
    finally:
        await notifier.stop()


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def channel() -> str:
    return f"tx:{secrets.token_hex(8)}"


def in_thread(target: Callable[[], None]) -> None:
    worker = threading.Thread(target=target)
    worker.start()
    worker.join(timeout=WAIT)
    assert not worker.is_alive()


def test_publish_reaches_subscriber_when_published_on_the_loop(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            ch = channel()
            sub = notifier.subscribe(ch)
            notifier.publish(ch, '{"state":"approved"}')
            assert await sub.get(WAIT) == '{"state":"approved"}'
            await sub.close()

    run(test)


def test_publish_from_worker_thread_is_delivered(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            ch = channel()
            sub = notifier.subscribe(ch)
            in_thread(lambda: notifier.publish(ch, "from a worker"))
            assert await sub.get(WAIT) == "from a worker"

    run(test)


def test_publish_skips_subscribers_of_other_channels(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            first, second = channel(), channel()
            sub = notifier.subscribe(second)
            notifier.publish(first, "not for you")
            notifier.publish(second, "for you")
            # One publisher's order holds, so a leaked message would have come first.
            assert await sub.get(WAIT) == "for you"
            assert await sub.get(QUIET) is None

    run(test)


def test_every_subscriber_of_a_channel_receives_the_message(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            ch = channel()
            subs = [notifier.subscribe(ch) for _ in range(3)]
            in_thread(lambda: notifier.publish(ch, "all of you"))
            got = await asyncio.gather(*(sub.get(WAIT) for sub in subs))
            assert got == ["all of you"] * 3

    run(test)


def test_get_returns_none_when_nothing_arrives_in_time(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            sub = notifier.subscribe(channel())
            began = time.monotonic()
            assert await sub.get(0.05) is None
            assert 0.04 <= time.monotonic() - began < 1.0
            assert await sub.get(0) is None

    run(test)


def test_close_stops_delivery_and_wakes_a_waiting_get(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            ch = channel()
            closed, open_ = notifier.subscribe(ch), notifier.subscribe(ch)
            waiting = asyncio.create_task(closed.get(WAIT * 5))
            await asyncio.sleep(0)  # let it start waiting
            began = time.monotonic()
            await closed.close()
            assert await asyncio.wait_for(waiting, WAIT) is None
            assert time.monotonic() - began < WAIT
            notifier.publish(ch, "after close")
            assert await open_.get(WAIT) == "after close"  # it was delivered…
            assert await closed.get(QUIET) is None  # …but not to the closed one
            await closed.close()  # twice is harmless

    run(test)


def test_stop_wakes_waiters(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            sub = notifier.subscribe(channel())
            waiting = asyncio.create_task(sub.get(WAIT * 5))
            await asyncio.sleep(0)
            await notifier.stop()
            assert await asyncio.wait_for(waiting, WAIT) is None

    run(test)


def test_one_publishers_order_is_kept(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            ch = channel()
            sub = notifier.subscribe(ch)
            sent = [f'{{"n":{n}}}' for n in range(50)]

            def publish_all() -> None:
                for message in sent:
                    notifier.publish(ch, message)

            in_thread(publish_all)
            assert [await sub.get(WAIT) for _ in sent] == sent

    run(test)


def test_a_full_queue_drops_the_oldest_messages(
    make_notifier: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            ch, marker = channel(), channel()
            slow, fast = notifier.subscribe(ch), notifier.subscribe(marker)
            sent = [str(n) for n in range(QUEUE_SIZE + 5)]

            def publish_all() -> None:
                for message in sent:
                    notifier.publish(ch, message)
                notifier.publish(marker, "done")

            with caplog.at_level(logging.WARNING, logger="portvakt.channels.notify"):
                in_thread(publish_all)
                assert await fast.get(WAIT) == "done"  # so every message before it has arrived
            assert "dropping old messages" in caplog.text
            assert [await slow.get(WAIT) for _ in range(QUEUE_SIZE)] == sent[5:]
            assert await slow.get(0) is None

    run(test)


def test_a_thousand_subscriptions_need_no_threads(make_notifier: Factory) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            threads = threading.active_count()
            ch = channel()
            subs = [notifier.subscribe(ch) for _ in range(1000)]
            waiting = [asyncio.create_task(sub.get(WAIT * 5)) for sub in subs]
            await asyncio.sleep(0)
            assert threading.active_count() <= threads + 1
            in_thread(lambda: notifier.publish(ch, "everyone"))
            assert await asyncio.gather(*waiting) == ["everyone"] * 1000
            assert threading.active_count() <= threads + 1
            await asyncio.gather(*(sub.close() for sub in subs))

    run(test)


def test_oversized_message_is_refused_and_logged(
    make_notifier: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    async def test() -> None:
        async with started(make_notifier) as notifier:
            ch = channel()
            sub = notifier.subscribe(ch)
            with caplog.at_level(logging.ERROR, logger="portvakt.channels.notify"):
                notifier.publish(ch, "x" * MAX_PAYLOAD_BYTES)
            assert "refused" in caplog.text
            notifier.publish(ch, "small")
            assert await sub.get(WAIT) == "small"

    run(test)


def test_publish_after_stop_is_dropped_without_raising(make_notifier: Factory) -> None:
    async def test() -> None:
        notifier = make_notifier()
        await notifier.start()
        await notifier.stop()
        notifier.publish(channel(), "too late")

    run(test)


def test_publish_on_one_instance_reaches_another_quickly(make_relay: Factory) -> None:
    async def test() -> None:
        async with started(make_relay) as here, started(make_relay) as there:
            ch = channel()
            waiter, local = there.subscribe(ch), here.subscribe(ch)
            latencies = []
            for n in range(20):
                began = time.perf_counter()
                in_thread(functools.partial(here.publish, ch, f"approved {n}"))
                assert await waiter.get(WAIT) == f"approved {n}"
                latencies.append(time.perf_counter() - began)
                assert await local.get(WAIT) == f"approved {n}"
            median, worst = statistics.median(latencies) * 1000, max(latencies) * 1000
            print(
                f"\n{type(here).__name__} cross-instance: median {median:.1f}, max {worst:.1f} ms"
            )
            assert max(latencies) < 0.5

    run(test)


def _cut_listeners(kind: str, name: str) -> int:
    """Close the server side of every connection the named notifier holds; returns how many."""
    if kind == "postgres":
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            ).fetchall()
        return len(rows)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        clients: list[dict[str, Any]] = client.client_list()
        ids = [entry["id"] for entry in clients if entry.get("name") == name]
        for client_id in ids:
            client.client_kill_filter(_id=client_id)
        return len(ids)
    finally:
        client.close()


@pytest.mark.parametrize("kind", [pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
def test_listener_reconnects_after_losing_its_connection(kind: str) -> None:
    name = f"portvakt-test-{secrets.token_hex(4)}"
    make = _factory(kind, name=name)

    async def test() -> None:
        async with started(make) as notifier:
            ch = channel()
            sub = notifier.subscribe(ch)
            notifier.publish(ch, "before")
            assert await sub.get(WAIT) == "before"
            assert await asyncio.to_thread(_cut_listeners, kind, name) >= 1
            # Messages sent while it reconnects are lost (a doorbell, not a mailbox): ring
            # until one gets through.
            deadline = time.monotonic() + 10
            got = None
            while got is None and time.monotonic() < deadline:
                notifier.publish(ch, "after")
                got = await sub.get(QUIET)
            assert got == "after"

    run(test)


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_unreachable_server_is_logged_not_raised(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def test() -> None:
        notifier: Notifier = (
            PostgresNotifier("host=127.0.0.1 port=1 dbname=none", topic=TOPIC)
            if kind == "postgres"
            else RedisNotifier("redis://127.0.0.1:1/0", topic=TOPIC)
        )
        with caplog.at_level(logging.INFO, logger="portvakt.channels.notify"):
            await notifier.start()  # returns after the first attempt; retries go on
            ch = channel()
            sub = notifier.subscribe(ch)
            notifier.publish(ch, "lost")
            notifier.publish(ch, "lost too")  # dropped at once while the server is away
            assert await sub.get(0.05) is None
            await notifier.stop()
        assert "lost its listening connection" in caplog.text
        assert "could not publish" in caplog.text
        assert "server unreachable" in caplog.text

    run(test)


def test_notifier_from_url_picks_the_shared_server() -> None:
    assert isinstance(notifier_from_url("sqlite:///data/portvakt.db", None), MemoryNotifier)
    assert isinstance(notifier_from_url(f"{PG_URL}?options=-csearch_path%3Dt_x"), PostgresNotifier)
    assert isinstance(notifier_from_url("sqlite:///x.db", REDIS_URL), RedisNotifier)
    assert isinstance(notifier_from_url(PG_URL, ""), PostgresNotifier)


def test_conninfo_from_url_keeps_credentials_and_options() -> None:
    url = "postgresql+psycopg://al%40ice:p%2Fw@db.example:6543/portvakt?options=-csearch_path%3Dt_x"
    assert conninfo_to_dict(conninfo_from_url(url)) == {
        "user": "al@ice",
        "password": "p/w",
        "host": "db.example",
        "port": "6543",
        "dbname": "portvakt",
        "options": "-csearch_path=t_x",
    }
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        conninfo_from_url("sqlite:///x.db")
    with pytest.raises(ValueError, match="unusable"):
        conninfo_from_url("postgresql://h/db?no_such_option=1")
