"""A waiting stream sends keep-alives without touching the database; it re-reads only when
something is announced (bench/README.md: idle re-reads were the main cost of waiting)."""

from __future__ import annotations

import asyncio

import pytest

from portvakt.channels.notify import MemoryNotifier
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
