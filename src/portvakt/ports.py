"""Protocols the core depends on; implementations are chosen in ``app.py``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SecretBox(Protocol):
    def seal(self, plaintext: bytes, *, aad: bytes) -> tuple[str, bytes]:
        """Encrypt; returns (key id, ciphertext)."""
        ...

    def open(self, key_id: str, ciphertext: bytes, *, aad: bytes) -> bytes:
        """Decrypt; raises ``ValueError`` when the key is unknown or the data was altered."""
        ...

    def keyed_hash(self, value: bytes, *, purpose: str) -> str:
        """A keyed, deterministic hash (hex) for lookups of high-entropy tokens."""
        ...


class Subscription(Protocol):
    """One waiter's view of one notifier channel; used on the event loop that created it."""

    async def get(self, timeout: float) -> str | None:
        """The next message, or ``None`` after ``timeout`` seconds or once closed."""
        ...

    async def close(self) -> None:
        """Stop delivery; a waiting ``get`` returns ``None``. Closing twice is harmless."""
        ...


class Notifier(Protocol):
    """Wakes waiters (on this or another instance) when something they wait for happened.

    A doorbell, not a mailbox: a message published while an instance's listener is
    reconnecting is lost, so a waiter re-reads the state it waits for after each ``get``,
    whether that returned a message or timed out.
    """

    def publish(self, channel: str, message: str) -> None:
        """Send ``message`` to every subscriber of ``channel`` on every instance.

        Synchronous and callable from any thread (the core calls it after its commit). Never
        blocks for long and never raises on delivery problems: those are logged.
        """
        ...

    def subscribe(self, channel: str) -> Subscription:
        """Called on the event loop; every message published after this call is delivered."""
        ...

    async def start(self) -> None:
        """Open the listening connection (the app's lifespan calls this)."""
        ...

    async def stop(self) -> None:
        """Close connections and subscriptions (waiters get ``None``)."""
        ...


class Locator(Protocol):
    def locate(self, ip: str) -> tuple[str | None, str | None]:
        """(city, country) for an address, or (None, None) when unknown."""
        ...


class Sender(Protocol):
    """Delivers what a method asked to send (``methods.base.Delivery``: an SMS code) through
    one channel (``sms``); chosen by name from the ``portvakt.channels`` entry points."""

    def send(self, to: str, payload: Mapping[str, Any]) -> None:
        """Hand one message to the channel. Called after the commit; raises on failure."""
        ...
