"""Random values from ``secrets`` and constant-time comparison (CRY-02, OTP-06)."""

from __future__ import annotations

import hmac
import re
import secrets

import pytest

from portvakt.crypto import compare
from portvakt.crypto import random as prandom

URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def test_token_defaults_to_256_bits_urlsafe() -> None:
    """CRY-02/SES-01: 32 random bytes, URL-safe base64 without padding (43 characters)."""
    value = prandom.token()
    assert len(value) == 43
    assert URLSAFE.match(value)


def test_token_length_follows_nbytes() -> None:
    """CRY-02: 16 bytes (128 bits) give 22 characters."""
    assert len(prandom.token(16)) == 22


def test_token_never_repeats_in_sample() -> None:
    """SES-01: no collisions in a sample."""
    assert len({prandom.token() for _ in range(1000)}) == 1000


def test_token_draws_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRY-02: values come from ``secrets`` (never ``random``)."""
    calls: list[int] = []

    def fake(nbytes: int) -> str:
        calls.append(nbytes)
        return "from-secrets"

    monkeypatch.setattr(secrets, "token_urlsafe", fake)
    assert prandom.token(24) == "from-secrets"
    assert calls == [24]


def test_otp_seed_is_twenty_bytes_by_default() -> None:
    """OTP-06: 160-bit seeds."""
    seed = prandom.otp_seed()
    assert isinstance(seed, bytes)
    assert len(seed) == 20
    assert prandom.otp_seed() != seed


def test_otp_seed_draws_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTP-06: the generator is patched to prove ``secrets.token_bytes(20)`` is used."""
    calls: list[int] = []

    def fake(nbytes: int) -> bytes:
        calls.append(nbytes)
        return b"\x07" * nbytes

    monkeypatch.setattr(secrets, "token_bytes", fake)
    assert prandom.otp_seed() == b"\x07" * 20
    assert calls == [20]


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        ("123456", "123456", True),
        (b"123456", b"123456", True),
        ("123456", b"123456", True),
        (b"123456", "123456", True),
        ("123456", "123457", False),
        ("123456", "1234567", False),
        ("", "", True),
        ("", "0", False),
        ("åse", "åse", True),
        ("åse", "ase", False),
        ("åse", "åse".encode(), True),
    ],
)
def test_equal_compares_str_and_bytes(a: str | bytes, b: str | bytes, want: bool) -> None:
    """CRY-02: str and bytes compare by their UTF-8 bytes; non-ASCII never raises."""
    assert compare.equal(a, b) is want


def test_equal_uses_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRY-02: secret comparisons go through ``hmac.compare_digest``."""
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert compare.equal("abc", "abc") is True
    assert seen == [(b"abc", b"abc")]


def test_identifiers_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client id is typed after a command (``portvakt client show <id>``); ``-…`` would read
    as an option (a CLI test failed once in 64 runs)."""
    draws = iter(["-first", "second"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(draws))
    assert prandom.identifier() == "second"


def test_identifiers_are_urlsafe_of_the_asked_entropy() -> None:
    value = prandom.identifier(18)
    assert URLSAFE.match(value)
    assert len(value) == 24
