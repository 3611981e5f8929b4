"""Random values from ``secrets`` only (CRY-02)."""

from __future__ import annotations

import secrets


def token(nbytes: int = 32) -> str:
    """URL-safe random token with ``nbytes`` of entropy (default 256 bits)."""
    return secrets.token_urlsafe(nbytes)


def identifier(nbytes: int = 18) -> str:
    """A random URL-safe id that never starts with ``-``, so an operator can type it after a
    command (``portvakt client show <id>``) without it reading as an option."""
    while True:
        made = secrets.token_urlsafe(nbytes)
        if not made.startswith("-"):
            return made


def otp_seed(nbytes: int = 20) -> bytes:
    """A 160-bit OTP seed (RFC 4226 §4 R6, OTP-06)."""
    return secrets.token_bytes(nbytes)
