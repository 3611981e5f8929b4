from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Protocol

import phonenumbers

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


def normalise_phone(raw: str) -> str:
    """An international number in E.164 form (``+4791234567``); spaces and punctuation are
    ignored. Numbers must start with ``+`` and the country code (phonenumbers decides)."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise Invalid("invalid_phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise Invalid("invalid_phone")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


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
