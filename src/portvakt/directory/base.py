from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Protocol

from portvakt.domain import UserRef
from portvakt.errors import Invalid

MAX_USERNAME = 64
_ALLOWED_PUNCTUATION = frozenset("._-@+'")


def normalise_username(raw: str) -> str:
    """NFKC, case-folded, trimmed. Letters, digits and ``._-@+'`` only; 1–64 characters."""
    name = unicodedata.normalize("NFKC", raw).strip().casefold()
    name = unicodedata.normalize("NFKC", name)
    if not name or len(name) > MAX_USERNAME:
        raise Invalid("invalid_username")
    for char in name:
        if not (char.isalnum() or char in _ALLOWED_PUNCTUATION):
            raise Invalid("invalid_username")
    return name


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """``user`` is set when the name exists (for the audit trail only: the door must answer
    the same whatever this says); ``ok`` when the password matched."""

    user: UserRef | None
    ok: bool
    new_hash: str | None = None  # set when the stored hash should be upgraded


class Directory(Protocol):
    def authenticate(self, username: str, password: str) -> PasswordCheck:
        """Check a password. Takes about the same time whether or not the user exists."""
        ...
