"""Notifiers: wake a waiter on this or another instance when what it waits for happened.

``memory`` serves one process; ``postgres`` (LISTEN/NOTIFY) and ``redis`` (pub/sub) carry
messages between instances. All three pass ``tests/contract/test_notifier.py``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from portvakt.channels.notify.memory import (
    MAX_PAYLOAD_BYTES,
    QUEUE_SIZE,
    MemoryNotifier,
    MemorySubscription,
)
from portvakt.channels.notify.postgres import PostgresNotifier, conninfo_from_url
from portvakt.channels.notify.redis import RedisNotifier
from portvakt.ports import Notifier

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "QUEUE_SIZE",
    "MemoryNotifier",
    "MemorySubscription",
    "PostgresNotifier",
    "RedisNotifier",
    "conninfo_from_url",
    "notifier_from_url",
]


def notifier_from_url(database_url: str, redis_url: str | None = None) -> Notifier:
    """Redis when a Redis URL is given, else PostgreSQL when the database is, else in-process."""
    if redis_url:
        return RedisNotifier(redis_url)
    if urlsplit(database_url).scheme.split("+", 1)[0] in {"postgresql", "postgres"}:
        return PostgresNotifier(conninfo_from_url(database_url))
    return MemoryNotifier()
