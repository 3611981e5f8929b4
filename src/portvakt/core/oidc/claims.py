"""What tokens say about a person: ``sub``, scope claims, ``sid`` and ``at_hash``."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Protocol

from portvakt.crypto.hashing import sha256_hex


class Person(Protocol):
    """What the claims are made of: a ``User`` row, or ``store.repos.oidc.Person``."""

    @property
    def subject(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...


def subject(user: Person) -> str:
    """The account's ``sub``: random, stable, never reused (``User.subject``)."""
    return user.subject


def session_sid(session_id: str | None) -> str | None:
    """The ``sid`` claim: derived from the session's key, so it names the session without
    being anything that could be presented as one."""
    return sha256_hex(f"sid:{session_id}")[:32] if session_id else None


def at_hash(access_token: str) -> str:
    """OpenID Connect Core 3.1.3.6: left half of SHA-256, base64url (ES256 and RS256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def user_claims(user: Person, scope: str) -> dict[str, Any]:
    """Claims the granted scopes release (OpenID Connect Core 5.4). Nothing is claimed as
    verified: Portvakt does not verify e-mail addresses or phone numbers."""
    scopes = set(scope.split())
    out: dict[str, Any] = {"sub": subject(user)}
    if "profile" in scopes:
        out["name"] = user.display_name or user.username
        out["preferred_username"] = user.username
    if "email" in scopes and user.email:
        out["email"] = user.email
    if "phone" in scopes and user.phone:
        out["phone_number"] = user.phone
    return out
