"""Server-sent events for waiting pages and apps: one asyncio task per open stream, no thread
held per waiter; state is re-read from the database only when something was announced."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from portvakt.ports import Notifier

KEEPALIVE_SECONDS = 15.0
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def event(name: str, data: Any) -> str:
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"event: {name}\ndata: {payload}\n\n"


def stream(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=HEADERS)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One reading of the watched state: the event to send, whether it is final, and how long
    to wait at most before reading again (e.g. until an expiry)."""

    name: str
    data: dict[str, Any]
    final: bool
    wait: float = KEEPALIVE_SECONDS


async def follow(
    request: Request,
    notifier: Notifier,
    channel: str,
    read: Callable[[], Awaitable[Snapshot]],
) -> AsyncIterator[str]:
    """Emit ``read()``'s event now and after every announcement on ``channel`` until it is
    final. The subscription is opened *before* the first read, so nothing is missed."""
    subscription = notifier.subscribe(channel)
    try:
        last = ""
        while True:
            snap = await read()
            rendered = event(snap.name, snap.data)
            if rendered != last:
                yield rendered
                last = rendered
            if snap.final:
                return
            message = await subscription.get(timeout=max(0.2, min(KEEPALIVE_SECONDS, snap.wait)))
            if message is None:
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
    finally:
        await subscription.close()
