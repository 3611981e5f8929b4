"""Password hashing: argon2id with OWASP parameters; bcrypt hashes are accepted on import and
upgraded to argon2id at the next successful sign-in."""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache

import bcrypt
from argon2 import PasswordHasher, extract_parameters
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
def dummy_hash() -> str:
    """A hash of the default scheme and cost, for work that must cost what a real check does."""
    return _HASHER.hash("portvakt-dummy-password")


def burn_password_check(password: str) -> None:
    """Spend the same time as a real check, for unknown users (RL-06: no timing oracle)."""
    verify_password(dummy_hash(), password)


def sha256_hex(value: str | bytes) -> str:
    """Plain SHA-256, for 256-bit random tokens (session ids) where a keyed hash adds nothing."""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def scheme_of(stored: str) -> str:
    """The scheme and cost part of a stored hash (``$2b$12`` or ``$argon2id$v=19$m=…,t=…,p=…``):
    hashes with the same scheme cost the same to verify."""
    if stored.startswith(BCRYPT_PREFIXES):
        return stored[:6]
    if stored.startswith(("$argon2id$", "$argon2i$")):
        return "$".join(stored.split("$")[:4])
    return ""


@lru_cache(maxsize=32)
def verify_seconds(scheme: str) -> float:
    """What verifying a password against a hash of ``scheme`` costs on this machine (the
    median of three checks of a throw-away hash of that scheme; measured once per process).
    RL-06: a failure for an unknown name is made to cost what the slowest scheme costs."""
    scale = 1.0
    if scheme.startswith(BCRYPT_PREFIXES) and scheme[4:6].isdigit() and int(scheme[4:6]) > 14:
        scale = 2.0 ** (int(scheme[4:6]) - 14)  # measure cost 14, scale: cost 20 takes minutes
        scheme = scheme[:4] + "14"
    sample = _sample_hash(scheme)
    if sample is None:
        return 0.0
    times = []
    for _ in range(3):
        started = time.perf_counter()
        verify_password(sample, "portvakt-timing-probe")
        times.append(time.perf_counter() - started)
    return sorted(times)[1] * scale


def _sample_hash(scheme: str) -> str | None:
    if scheme.startswith(BCRYPT_PREFIXES):
        try:
            rounds = int(scheme[4:6])
        except ValueError:
            return None
        if not 4 <= rounds <= 31:
            return None
        return bcrypt.hashpw(b"portvakt-timing", bcrypt.gensalt(rounds=rounds)).decode()
    if scheme.startswith(("$argon2id$", "$argon2i$")):
        try:
            params = extract_parameters(scheme + "$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo")
        except (InvalidHashError, ValueError):
            return None
        return PasswordHasher.from_parameters(params).hash("portvakt-timing")
    return None
