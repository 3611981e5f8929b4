"""The event stream: parsing server-sent events, verifying the challenges in them, reporting
the connection state, and reconnecting with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

import httpx

from portvakt import protocol
from portvakt_authenticator.accounts import PushAccount
from portvakt_authenticator.client import PushClient
from portvakt_authenticator.stream import (
    Backoff,
    ChallengeArrived,
    ChallengeClosed,
    ChallengeDropped,
    ConnectionChanged,
    ConnectionState,
    SseEvent,
    SseParser,
    StreamEvent,
    interpret,
    watch,
    watch_all,
)
from tests.authenticator.fakeserver import FakeServer, Issued


def _parse(text: str) -> list[SseEvent]:
    parser = SseParser()
    found = [parser.feed(line) for line in text.split("\n")]
    return [event for event in found if event is not None]


def test_sse_parser_reads_events_comments_and_multiline_data() -> None:
    text = (
        ": keep-alive\n\n"
        "event: challenge\ndata: abc\n\n"
        'event: answered\r\ndata:{"tx": 1}\n\n'
        "data: line one\ndata: line two\nid: 7\nretry: 10\n\n"
        "event: lonely\n\n"
    )
    assert _parse(text) == [
        SseEvent("challenge", "abc"),
        SseEvent("answered", '{"tx": 1}'),
        SseEvent("message", "line one\nline two"),
    ]


def test_interpret_verifies_challenges_and_reads_answered(
    server: FakeServer, registered: PushAccount
) -> None:
    issued = server.issue(registered.device_id)
    arrived = interpret(registered, SseEvent("challenge", server.challenge_token(issued)))
    assert isinstance(arrived, ChallengeArrived) and arrived.request.tx == issued.tx
    forged = server.challenge_token(issued, key=protocol.generate_key())
    dropped = interpret(registered, SseEvent("challenge", forged))
    assert isinstance(dropped, ChallengeDropped) and dropped.dropped.code == "bad_signature"
    closed = interpret(registered, SseEvent("answered", '{"tx": "t1", "state": "approved"}'))
    assert closed == ChallengeClosed(registered.id, "t1", "approved")
    assert interpret(registered, SseEvent("answered", "not json")) is None
    assert interpret(registered, SseEvent("answered", '{"state": "x"}')) is None
    assert interpret(registered, SseEvent("unknown", "x")) is None


async def _take(
    events: list[StreamEvent], source: AsyncGenerator[StreamEvent, None], count: int
) -> None:
    async with aclosing(source) as stream:
        async for event in stream:
            events.append(event)
            if len(events) == count:
                return


def test_watch_reports_state_challenges_and_reconnects(
    server: FakeServer, registered: PushAccount
) -> None:
    issued = server.issue(registered.device_id)
    done = server.issue(registered.device_id)
    done.state = "expired"
    forged = Issued(tx="forged", device_id=registered.device_id, number="00", nonce="n")
    server.extra_challenges.append(server.challenge_token(forged, key=protocol.generate_key()))
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    events: list[StreamEvent] = []
    source = watch(registered, transport=server.transport(), sleep=sleep)
    asyncio.run(_take(events, source, 7))
    assert events[0] == ConnectionChanged(registered.id, ConnectionState.CONNECTING)
    assert events[1] == ConnectionChanged(registered.id, ConnectionState.CONNECTED)
    assert isinstance(events[2], ChallengeArrived) and events[2].request.tx == issued.tx
    assert events[3] == ChallengeClosed(registered.id, done.tx, "expired")
    assert isinstance(events[4], ChallengeDropped)
    assert events[5] == ConnectionChanged(registered.id, ConnectionState.DISCONNECTED, "closed")
    assert events[6] == ConnectionChanged(registered.id, ConnectionState.CONNECTING)
    assert len(delays) == 1 and 1.0 <= delays[0] <= 1.25


def test_watch_backs_off_while_the_server_refuses(
    server: FakeServer, registered: PushAccount
) -> None:
    server.devices.clear()
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    events: list[StreamEvent] = []
    source = watch(registered, transport=server.transport(), sleep=sleep)
    asyncio.run(_take(events, source, 8))
    lost = [e for e in events if isinstance(e, ConnectionChanged) and e.code]
    assert {e.code for e in lost} == {"unauthorized"}
    assert len(delays) == 3
    for delay, base in zip(delays, [1, 2, 4], strict=True):
        assert base <= delay <= base * 1.25


def test_watch_reports_an_unreachable_server(registered: PushAccount) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def sleep(seconds: float) -> None:
        return None

    events: list[StreamEvent] = []
    source = watch(registered, transport=httpx.MockTransport(handler), sleep=sleep)
    asyncio.run(_take(events, source, 2))
    assert events[1] == ConnectionChanged(
        registered.id, ConnectionState.DISCONNECTED, "unreachable"
    )


def test_backoff_doubles_to_a_ceiling_and_resets() -> None:
    backoff = Backoff(initial=1, maximum=8)
    delays = [backoff.next() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert base <= delay <= base * 1.25
    backoff.reset()
    assert backoff.next() <= 1.25


def test_watch_all_merges_accounts(server: FakeServer, registered: PushAccount) -> None:
    second = FakeServer("https://other.example.org")
    with PushClient(transport=second.transport()) as client:
        other = client.register(second.activation(), device_name="x")

    def route(request: httpx.Request) -> httpx.Response:
        target = second if str(request.url).startswith(second.url) else server
        return target.handle(request)

    events: list[StreamEvent] = []
    source = watch_all([registered, other], transport=httpx.MockTransport(route))
    asyncio.run(_take(events, source, 6))  # three each before either sleeps
    connected = {
        e.account_id
        for e in events
        if isinstance(e, ConnectionChanged) and e.state is ConnectionState.CONNECTED
    }
    assert connected == {registered.id, other.id}
