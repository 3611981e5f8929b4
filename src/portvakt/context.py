"""The request-independent facts a core call needs: who, from where, through which door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from portvakt.domain import Door
from portvakt.ports import Clock, SecretBox
from portvakt.settings import Settings


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    clock: Clock
    box: SecretBox
    door: Door
    ip: str | None = None
    user_agent: str | None = None
    actor: str | None = None  # operator or user name for audit; None = the person themself
    base_url: str | None = None  # how this server is reached (settings.public_url or request)
    language: str | None = None  # the reader's language (a text message); None: the default

    def lang(self) -> str:
        return self.language or self.settings.default_language

    def now(self) -> datetime:
        return self.clock.now()
