"""A waiting stream sends keep-alives without touching the database; it re-reads only when
something is announced (bench/README.md: idle re-reads were the main cost of waiting)."""

from __future__ import annotations

import asyncio

import pytest

from portvakt.channels.notify import MemoryNotifier
from portvakt.errors import NotFound
from portvakt.web import sse


class _Request:
    async def is_disconnected(self) -> bool:
        return False


def test_idle_stream_keeps_alive_without_rereading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "KEEPALIVE_SECONDS", 0.02)
    reads: list[int] = []

    async def read() -> sse.Snapshot:
        reads.append(1)
        return sse.Snapshot("state", {"n": len(reads)}, final=len(reads) >= 2)

    async def scenario() -> list[str]:
        notifier = MemoryNotifier()
        await notifier.start()
        chunks: list[str] = []
        stream = sse.follow(_Request(), notifier, "tx:1", read)  # type: ignore[arg-type]
        async for chunk in stream:
            chunks.append(chunk)
            if chunk.startswith(":") and chunks.count(": keep-alive\n\n") == 5:
                assert len(reads) == 1  # five keep-alives, still one read
                notifier.publish("tx:1", "changed")
        await notifier.stop()
        return chunks

    chunks = asyncio.run(scenario())
    assert len(reads) == 2 and chunks[-1].startswith("event: state")
    assert chunks.count(": keep-alive\n\n") == 5


def test_stream_ends_without_a_traceback_when_the_watched_thing_is_gone() -> None:
    """Issue 9, item 5: a read that finds nothing (``NotFound``) ends the stream cleanly."""
    reads: list[int] = []

    async def read() -> sse.Snapshot:
        reads.append(1)
        if len(reads) > 1:
            raise NotFound("push_not_found")
        return sse.Snapshot("state", {"state": "pending"}, final=False)

    async def scenario() -> list[str]:
        notifier = MemoryNotifier()
        await notifier.start()
        chunks: list[str] = []
        stream = sse.follow(_Request(), notifier, "tx:1", read)  # type: ignore[arg-type]
        async for chunk in stream:
            chunks.append(chunk)
            notifier.publish("tx:1", "changed")
        await notifier.stop()
        return chunks

    assert asyncio.run(scenario()) == ['event: state\ndata: {"state": "pending"}\n\n']
    assert len(reads) == 2


def test_watch_refuses_before_the_stream_when_the_first_read_finds_nothing() -> None:
    """The error reaches the app's handlers (a 404), not a stream that already said 200."""

    async def read() -> sse.Snapshot:
        raise NotFound("push_not_found")

    async def scenario() -> None:
        notifier = MemoryNotifier()
        await sse.watch(_Request(), notifier, "tx:1", read)  # type: ignore[arg-type]

    with pytest.raises(NotFound):
        asyncio.run(scenario())
