"""What the PostgreSQL and Redis notifiers share: one listening connection per process on one
server-side topic, fanned out locally by a :class:`MemoryNotifier`, and a supervisor that
reconnects it with backoff.

Every instance listens on the same topic and filters by channel locally, so a subscription is
live as soon as it is registered (no per-channel LISTEN/SUBSCRIBE round trip to wait for), and
a message travels the same way whether its waiter is on this instance or another one.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable

from portvakt.channels.notify.memory import (
    MemoryNotifier,
    MemorySubscription,
    decode_payload,
    encode_payload,
)

log = logging.getLogger("portvakt.channels.notify")

SEND_PAUSE = 1.0
"""After a failed publish, later ones are dropped (and logged) for this long rather than each
waiting for a connection timeout while the server is down."""
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 5.0


class RelayNotifier(abc.ABC):
    """Template for a notifier relayed through a server; subclasses send and listen."""

    kind = "relay"

    def __init__(self, *, topic: str) -> None:
        self.topic = topic
        self._local = MemoryNotifier()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._backoff = FIRST_BACKOFF
        self._send_paused_until = 0.0

    @abc.abstractmethod
    def _send(self, payload: str) -> None:
        """Publish a wire payload on the topic; from any thread, briefly. Raises when the
        server cannot be reached."""

    @abc.abstractmethod
    async def _listen(self, ready: Callable[[], None]) -> None:
        """Connect, listen on the topic, call ``ready()``, then pass payloads to
        :meth:`_receive` until the connection fails (raise) or the task is cancelled; close
        the connection on the way out."""

    @abc.abstractmethod
    def _close_sender(self) -> None:
        """Close the publishing connection (it reopens on the next publish)."""

    def publish(self, channel: str, message: str) -> None:
        where = (self.kind, channel)
        if self._stopped:
            log.warning("%s notifier is stopped; notification on %r dropped", *where)
            return
        payload = encode_payload(channel, message)
        if payload is None:
            return
        if time.monotonic() < self._send_paused_until:
            log.warning("%s notifier: server unreachable; notification on %r dropped", *where)
            return
        try:
            self._send(payload)
        except Exception as exc:
            self._send_paused_until = time.monotonic() + SEND_PAUSE
            log.warning(
                "%s notifier could not publish on %r (%s: %s); dropped",
                self.kind,
                channel,
                type(exc).__name__,
                exc,
            )

    def subscribe(self, channel: str) -> MemorySubscription:
        return self._local.subscribe(channel)

    async def start(self) -> None:
        """Start listening; returns after the first attempt, listening or not (retries go on
        in the background and are logged)."""
        if self._task is not None:
            return
        self._stopped = False
        attempted = asyncio.Event()
        self._task = asyncio.create_task(
            self._supervise(attempted), name=f"portvakt-{self.kind}-notifier"
        )
        await attempted.wait()

    async def stop(self) -> None:
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                log.error("%s listener had failed", self.kind, exc_info=task.exception())
        await self._local.stop()
        self._close_sender()

    def _receive(self, payload: str) -> None:
        decoded = decode_payload(payload)
        if decoded is not None:
            self._local.dispatch(*decoded)

    async def _supervise(self, attempted: asyncio.Event) -> None:
        def ready() -> None:
            if self._backoff > FIRST_BACKOFF:
                log.info("%s notifier is listening again", self.kind)
            self._backoff = FIRST_BACKOFF
            attempted.set()

        while True:
            try:
                await self._listen(ready)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}".strip()
            else:
                reason = "listener returned"
            attempted.set()
            log.warning(
                "%s notifier lost its listening connection (%s); retrying in %.1f s; "
                "notifications until then are lost",
                self.kind,
                reason,
                self._backoff,
            )
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
