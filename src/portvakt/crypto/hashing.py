"""Password hashing: argon2id with OWASP parameters; bcrypt hashes are accepted on import and
upgraded to argon2id at the next successful sign-in."""

from __future__ import annotations

import hashlib
from functools import lru_cache

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32)
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
MAX_PASSWORD_BYTES = 1024


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def is_supported_hash(value: str) -> bool:
    """True for an argon2 (``$argon2id$``/``$argon2i$``) or bcrypt hash we can verify."""
    if value.startswith(BCRYPT_PREFIXES):
        return len(value) == 60
    if value.startswith(("$argon2id$", "$argon2i$")):
        try:
            _HASHER.check_needs_rehash(value)
        except (InvalidHashError, ValueError):
            return False
        return True
    return False


def verify_password(stored: str, password: str) -> bool:
    """Check ``password`` against an argon2 or bcrypt hash; never raises on a bad hash."""
    try:
        raw = password.encode()
    except UnicodeEncodeError:  # lone surrogates (JSON "\ud800") can never match
        return False
    if len(raw) > MAX_PASSWORD_BYTES:
        return False
    if stored.startswith(BCRYPT_PREFIXES):
        try:
            # bcrypt only reads 72 bytes; pre-hash longer input the way the importer did not,
            # so compare the raw bytes and refuse longer passwords rather than truncate.
            return len(raw) <= 72 and bcrypt.checkpw(raw, stored.encode())
        except ValueError:
            return False
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeEncodeError):
        # UnicodeEncodeError: argon2 encodes the hash as ASCII ("$argon2id$é" would raise)
        return False


def needs_rehash(stored: str) -> bool:
    if stored.startswith(BCRYPT_PREFIXES):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("portvakt-dummy-password")


def burn_password_check(password: str) -> None:
    """Spend the same time as a real check, for unknown users (RL-06: no timing oracle)."""
    verify_password(_dummy_hash(), password)


def sha256_hex(value: str | bytes) -> str:
    """Plain SHA-256, for 256-bit random tokens (session ids) where a keyed hash adds nothing."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()
