"""The text-message port: a ``Gateway`` sends one message to one E.164 number, or raises
``GatewayError``. Adapters: ``http`` (an operator's API), ``smtp`` (email-to-SMS), ``file``
(development). ``queue.TextQueue`` sends through them after the commit, off the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class GatewayError(Exception):
    """A gateway could not take the message. ``retry``: worth trying this gateway again (a
    timeout, a 5xx); otherwise the next gateway is tried at once (a 4xx, a refused login)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True, slots=True)
class Message:
    to: str  # E.164, ``+4712345678``
    text: str = ""

    def __repr__(self) -> str:  # the text holds a code: never in a log line by accident
        return f"Message(to={masked(self.to)!r})"


class Gateway(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Hand one message over within the configured timeout; ``GatewayError`` if not."""
        ...


def masked(number: str) -> str:
    """``+4712345678`` → ``••••78``: enough to tell numbers apart in a log."""
    return "••••" + number[-2:]
