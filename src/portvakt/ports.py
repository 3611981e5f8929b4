"""Protocols the core depends on; implementations are chosen in ``app.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


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
