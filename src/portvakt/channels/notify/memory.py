"""In-process notifier: one process (the SQLite default), and the local fan-out of the others.

Publishers may run on any thread; each subscription belongs to the event loop that created it
and receives messages through ``loop.call_soon_threadsafe``, so no thread is held per waiter and
messages reach one loop in the order they were published.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger("portvakt.channels.notify")

MAX_PAYLOAD_BYTES = 7999
"""PostgreSQL's NOTIFY takes payloads shorter than 8000 bytes; every notifier keeps that limit
so that a message that works on one instance works on many."""

QUEUE_SIZE = 100


def encode_payload(channel: str, message: str) -> str | None:
    """The wire form ``{"c": channel, "m": message}``, or ``None`` (logged) when too long."""
    payload = json.dumps({"c": channel, "m": message}, separators=(",", ":"))
    size = len(payload.encode())
    if size > MAX_PAYLOAD_BYTES:
        log.error(
            "notification on %r refused: %d bytes encoded, the limit is %d",
            channel,
            size,
            MAX_PAYLOAD_BYTES,
        )
        return None
    return payload


def decode_payload(payload: str) -> tuple[str, str] | None:
    """The (channel, message) of a wire payload, or ``None`` (logged) when malformed."""
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    if isinstance(data, dict):
        channel, message = data.get("c"), data.get("m")
        if isinstance(channel, str) and isinstance(message, str):
            return channel, message
    log.warning("ignored a malformed notification payload (%d characters)", len(payload))
    return None


class MemorySubscription:
    """A bounded queue on one event loop; the oldest message is dropped when it overflows."""

    def __init__(
        self, notifier: MemoryNotifier, channel: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.channel = channel
        self.loop = loop
        self._notifier = notifier
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        self._closed = False
        self._warned = False

    async def get(self, timeout: float) -> str | None:
        if self._closed:
            return None
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                return await self._queue.get()
        except TimeoutError:
            return None

    async def close(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        """Close from the subscription's own loop thread."""
        if self._closed:
            return
        self._closed = True
        self._notifier.forget(self)
        self._put(None)  # wakes a waiting get()

    def deliver(self, message: str) -> None:
        """Queue a message; runs on the subscription's loop thread."""
        if not self._closed:
            self._put(message)

    def _put(self, item: str | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            if not self._warned:
                self._warned = True
                log.warning("subscriber on %r is not reading; dropping old messages", self.channel)
        self._queue.put_nowait(item)


def _deliver_all(subscriptions: Iterable[MemorySubscription], message: str) -> None:
    for subscription in subscriptions:
        subscription.deliver(message)


def _close_all(subscriptions: Iterable[MemorySubscription]) -> None:
    for subscription in subscriptions:
        subscription.close_now()


class MemoryNotifier:
    """Delivers to subscriptions in this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[str, dict[MemorySubscription, None]] = {}

    def publish(self, channel: str, message: str) -> None:
        if encode_payload(channel, message) is not None:
            self.dispatch(channel, message)

    def dispatch(self, channel: str, message: str) -> None:
        """Deliver without the size check (the relays have checked it at the sender)."""
        with self._lock:
            subscriptions = tuple(self._channels.get(channel, ()))
        by_loop: dict[asyncio.AbstractEventLoop, list[MemorySubscription]] = {}
        for subscription in subscriptions:
            by_loop.setdefault(subscription.loop, []).append(subscription)
        for loop, group in by_loop.items():
            self._call_on(loop, group, functools.partial(_deliver_all, group, message))

    def subscribe(self, channel: str) -> MemorySubscription:
        subscription = MemorySubscription(self, channel, asyncio.get_running_loop())
        with self._lock:
            self._channels.setdefault(channel, {})[subscription] = None
        return subscription

    def forget(self, subscription: MemorySubscription) -> None:
        with self._lock:
            subscriptions = self._channels.get(subscription.channel)
            if subscriptions is not None:
                subscriptions.pop(subscription, None)
                if not subscriptions:
                    del self._channels[subscription.channel]

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Close every subscription, so waiters return ``None`` at once."""
        with self._lock:
            subscriptions = [sub for subs in self._channels.values() for sub in subs]
        by_loop: dict[asyncio.AbstractEventLoop, list[MemorySubscription]] = {}
        for subscription in subscriptions:
            by_loop.setdefault(subscription.loop, []).append(subscription)
        for loop, group in by_loop.items():
            self._call_on(loop, group, functools.partial(_close_all, group))

    def _call_on(
        self,
        loop: asyncio.AbstractEventLoop,
        group: list[MemorySubscription],
        callback: Callable[[], None],
    ) -> None:
        try:
            loop.call_soon_threadsafe(callback)
        except RuntimeError:  # the loop is closed: nobody can read these any more
            for subscription in group:
                self.forget(subscription)
