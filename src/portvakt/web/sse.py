"""Server-sent events for waiting pages and apps: one asyncio task per open stream, no thread
held per waiter; state is re-read from the database only when something was announced."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from portvakt.errors import PortvaktError
from portvakt.ports import Notifier

KEEPALIVE_SECONDS = 15.0
SAFETY_REREAD_SECONDS = 300.0  # re-read now and then in case an announcement was lost
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def event(name: str, data: Any) -> str:
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"event: {name}\ndata: {payload}\n\n"


def stream(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=HEADERS)


async def watch(
    request: Request,
    notifier: Notifier,
    channel: str,
    read: Callable[[], Awaitable[Snapshot]],
) -> StreamingResponse:
    """The stream of ``follow``, once a first ``read()`` found what it watches: a
    ``PortvaktError`` from that read (an id that is not the browser's own: ``NotFound``)
    reaches the app's error handlers, a 404 before any stream starts."""
    await read()
    return stream(follow(request, notifier, channel, read))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One reading of the watched state: the event to send, whether it is final, and how long
    to wait at most before reading again (e.g. until an expiry)."""

    name: str
    data: dict[str, Any]
    final: bool
    wait: float = SAFETY_REREAD_SECONDS


async def follow(
    request: Request,
    notifier: Notifier,
    channel: str,
    read: Callable[[], Awaitable[Snapshot]],
) -> AsyncIterator[str]:
    """Emit ``read()``'s event now and after every announcement on ``channel`` until it is
    final. The subscription is opened *before* the first read, so nothing is missed. When
    ``read`` finds the watched thing gone (``NotFound``, ``Denied`` …: it expired and was
    pruned), the stream ends there, without a traceback."""
    subscription = notifier.subscribe(channel)
    loop = asyncio.get_running_loop()
    try:
        last = ""
        while True:
            try:
                snap = await read()
            except PortvaktError:
                return
            rendered = event(snap.name, snap.data)
            if rendered != last:
                yield rendered
                last = rendered
            if snap.final:
                return
            # Wait for an announcement; between them only keep-alives, no database read,
            # until the snapshot's own deadline (an expiry) or the rare safety re-read.
            due = loop.time() + max(0.2, min(SAFETY_REREAD_SECONDS, snap.wait))
            while True:
                left = due - loop.time()
                if left <= 0:
                    break
                message = await subscription.get(timeout=min(KEEPALIVE_SECONDS, left))
                if await request.is_disconnected():
                    return
                if message is not None:
                    break
                yield ": keep-alive\n\n"
    finally:
        await subscription.close()
