"""Notifier over Redis pub/sub, for several instances sharing one Redis.

Per process: one asyncio pub/sub connection subscribed to the topic (on the event loop, no
thread), and a synchronous client (its own thread-safe pool) that PUBLISHes for publishers on
worker threads, with short timeouts and a single retry so a publisher never waits long.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from portvakt.channels.notify.relay import RelayNotifier


class RedisNotifier(RelayNotifier):
    """``publish`` runs ``PUBLISH topic payload``; the listener SUBSCRIBEs to topic."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        topic: str = "portvakt",
        timeout: float = 2.0,
        ping_interval: int = 30,
        client_name: str = "portvakt-notifier",
    ) -> None:
        super().__init__(topic=topic)
        self._url = url
        self._timeout = timeout
        self._ping_interval = ping_interval
        self._client_name = client_name
        self._sender = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )

    def _send(self, payload: str) -> None:
        self._sender.publish(self.topic, payload)

    def _close_sender(self) -> None:
        self._sender.close()

    async def _listen(self, ready: Callable[[], None]) -> None:
        client = redis.asyncio.Redis.from_url(
            self._url,
            decode_responses=True,
            socket_connect_timeout=self._timeout,
            health_check_interval=self._ping_interval,
            client_name=self._client_name,
        )
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.topic)
                ready()
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self._ping_interval
                    )
                    if message is not None and isinstance(message.get("data"), str):
                        self._receive(message["data"])
            finally:
                # Called through a typed name: redis-py annotates aclose in some releases and
                # not in others, so neither a call nor a `type: ignore` holds across the range.
                close: Callable[[], Awaitable[object]] = pubsub.aclose
                await close()
        finally:
            await client.aclose()
