"""Password hashing: argon2id, bcrypt import, rehash and the dummy check (CRY-01, RL-06)."""

from __future__ import annotations

import bcrypt
import pytest
from argon2 import PasswordHasher

from portvakt.crypto import hashing

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def argon2_hash() -> str:
    return hashing.hash_password(PASSWORD)


def _bcrypt_hash(password: str, prefix: bytes = b"2b") -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4, prefix=prefix)).decode()


def test_hash_password_produces_argon2id_with_owasp_parameters(argon2_hash: str) -> None:
    """CRY-01: ``$argon2id$`` with m = 19 MiB, t = 2, p = 1."""
    assert argon2_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_hash_password_salts_each_hash(argon2_hash: str) -> None:
    """CRY-01: the same password hashes differently each time."""
    assert hashing.hash_password(PASSWORD) != argon2_hash


def test_verify_password_accepts_correct_password(argon2_hash: str) -> None:
    """CRY-01: verified exactly as typed."""
    assert hashing.verify_password(argon2_hash, PASSWORD) is True


@pytest.mark.parametrize(
    "attempt",
    ["", "correct horse battery stapl", "Correct horse battery staple", PASSWORD + " "],
)
def test_verify_password_rejects_other_password(argon2_hash: str, attempt: str) -> None:
    """CRY-01: no case folding, trimming or prefix match."""
    assert hashing.verify_password(argon2_hash, attempt) is False


def test_verify_password_rejects_long_password_differing_at_last_char() -> None:
    """CRY-01: no truncation (a 100-char password differing only at the last char fails)."""
    password = "p" * 99 + "a"
    stored = hashing.hash_password(password)
    assert hashing.verify_password(stored, password) is True
    assert hashing.verify_password(stored, "p" * 99 + "b") is False


def test_verify_password_refuses_password_over_byte_limit() -> None:
    """CRY-01: input over MAX_PASSWORD_BYTES is refused even when it is the right password."""
    password = "x" * (hashing.MAX_PASSWORD_BYTES + 1)
    stored = hashing.hash_password(password)
    assert hashing.verify_password(stored, password) is False
    at_limit = "x" * hashing.MAX_PASSWORD_BYTES
    assert hashing.verify_password(hashing.hash_password(at_limit), at_limit) is True


def test_verify_password_rejects_lone_surrogate_without_raising(argon2_hash: str) -> None:
    """RL-06: a password that is not encodable (JSON ``"\\ud800"``) is a mismatch, not a 500."""
    assert hashing.verify_password(argon2_hash, "\ud800") is False
    assert hashing.verify_password(_bcrypt_hash("pw"), "\ud800") is False


def test_needs_rehash_is_false_for_current_argon2id(argon2_hash: str) -> None:
    assert hashing.needs_rehash(argon2_hash) is False


def test_needs_rehash_is_true_for_weaker_argon2_parameters() -> None:
    """CRY-01: hashes under older parameters still verify and are upgraded."""
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    assert hashing.verify_password(weak, PASSWORD) is True
    assert hashing.needs_rehash(weak) is True


@pytest.mark.parametrize("prefix", [b"2a", b"2b"])
def test_verify_password_accepts_bcrypt_hash_and_needs_rehash(prefix: bytes) -> None:
    """CRY-01: imported bcrypt hashes verify, and are upgraded to argon2id."""
    stored = _bcrypt_hash(PASSWORD, prefix)
    assert stored.startswith(f"${prefix.decode()}$")
    assert hashing.is_supported_hash(stored) is True
    assert hashing.verify_password(stored, PASSWORD) is True
    assert hashing.verify_password(stored, PASSWORD[:-1]) is False
    assert hashing.needs_rehash(stored) is True


def test_verify_password_accepts_bcrypt_2y_hash() -> None:
    """CRY-01: PHP's ``$2y$`` spelling of bcrypt is accepted on import."""
    stored = "$2y$" + _bcrypt_hash(PASSWORD)[4:]
    assert hashing.verify_password(stored, PASSWORD) is True
    assert hashing.needs_rehash(stored) is True


def test_verify_password_refuses_bcrypt_password_over_72_bytes() -> None:
    """CRY-01: bcrypt would silently truncate at 72 bytes; longer input is refused."""
    stored = _bcrypt_hash("a" * 72)
    assert hashing.verify_password(stored, "a" * 72) is True
    assert hashing.verify_password(stored, "a" * 72 + "b") is False


BAD_HASHES = [
    "",
    "garbage",
    "\x00",
    "$argon2id$",
    "$argon2id$v=19$m=19456,t=2,p=1$",
    "$argon2id$é",
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ÅÅÅ",
    "$argon2d$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$argon2x$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    "$2b$",
    "$2b$12$" + "a" * 53,
    "$2b$12$" + "é" * 53,
    "$2a$99$" + "a" * 53,
    "$2y$05$short",
    "$pbkdf2-sha256$29000$c2FsdA$aGFzaA",
    "$1$salt$hash",
]


@pytest.mark.parametrize("stored", BAD_HASHES)
def test_verify_password_returns_false_for_bad_hash_without_raising(stored: str) -> None:
    """CRY-01/RL-06: a corrupt or foreign hash is a mismatch, never an exception."""
    assert hashing.verify_password(stored, PASSWORD) is False


@pytest.mark.parametrize("stored", BAD_HASHES)
def test_needs_rehash_returns_true_for_bad_hash_without_raising(stored: str) -> None:
    assert hashing.needs_rehash(stored) is True


@pytest.mark.parametrize("stored", BAD_HASHES)
def test_is_supported_hash_never_raises_for_bad_hash(stored: str) -> None:
    assert isinstance(hashing.is_supported_hash(stored), bool)


@pytest.mark.parametrize("stored", ["", "garbage", "$2b$", "$argon2id$", "$1$salt$hash"])
def test_is_supported_hash_rejects_malformed_hash(stored: str) -> None:
    assert hashing.is_supported_hash(stored) is False


def test_is_supported_hash_accepts_argon2id_hash(argon2_hash: str) -> None:
    assert hashing.is_supported_hash(argon2_hash) is True


def test_burn_password_check_runs_a_real_argon2_verification(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RL-06: unknown users cost one argon2id verification, like known ones."""
    calls: list[tuple[str, str]] = []
    real = hashing.verify_password

    def spy(stored: str, password: str) -> bool:
        calls.append((stored, password))
        return real(stored, password)

    monkeypatch.setattr(hashing, "verify_password", spy)
    hashing.burn_password_check("guess")
    ((stored, password),) = calls
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert password == "guess"


@pytest.mark.parametrize("password", ["", "x" * 5000, "\ud800"])
def test_burn_password_check_never_raises_for_odd_input(password: str) -> None:
    """RL-06: the dummy check must not turn into an error for any input."""
    hashing.burn_password_check(password)


def test_sha256_hex_matches_known_digest_for_str_and_bytes() -> None:
    """FIPS 180-2 example: SHA-256("abc")."""
    want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hashing.sha256_hex("abc") == want
    assert hashing.sha256_hex(b"abc") == want
