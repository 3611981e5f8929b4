"""The edges of crypto and protocol that the flows do not reach: unusual stored hashes for the
timing floor, out-of-range HOTP counters, and every way a message can be malformed."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest

from portvakt import protocol
from portvakt.crypto import hashing, otp


def test_a_hash_of_no_known_scheme_has_no_scheme() -> None:
    assert hashing.scheme_of("plain-text") == ""
    assert hashing.scheme_of("$2b$04$abc") == "$2b$04"


@pytest.mark.parametrize("scheme", ["", "$2b$xx", "$2b$03", "$argon2id$v=19$m=zz", "$md5$"])
def test_schemes_that_cannot_be_sampled_cost_nothing(scheme: str) -> None:
    hashing.verify_seconds.cache_clear()
    assert hashing.verify_seconds(scheme) == 0.0


def test_a_cheap_bcrypt_scheme_is_measured() -> None:
    hashing.verify_seconds.cache_clear()
    assert hashing.verify_seconds("$2b$04") > 0.0


def test_an_expensive_bcrypt_scheme_is_measured_at_cost_14_and_scaled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def sample(scheme: str) -> str | None:
        asked.append(scheme)
        return None  # nothing to time: the scale still shows in what was asked

    monkeypatch.setattr(hashing, "_sample_hash", sample)
    hashing.verify_seconds.cache_clear()
    assert hashing.verify_seconds("$2b$20") == 0.0
    assert asked == ["$2b$14"]
    hashing.verify_seconds.cache_clear()


def test_an_argon2_scheme_is_sampled_with_its_own_parameters() -> None:
    hashing.verify_seconds.cache_clear()
    scheme = hashing.scheme_of(hashing.hash_password("x"))
    assert scheme.startswith("$argon2id$") and hashing.verify_seconds(scheme) > 0.0
    hashing.verify_seconds.cache_clear()


@pytest.mark.parametrize("counter", [-1, 2**64])
def test_hotp_refuses_a_counter_out_of_range(counter: int) -> None:
    with pytest.raises(ValueError, match="counter"):
        otp.hotp(b"12345678901234567890", counter)


def _token(header: dict[str, Any] | str, claims: dict[str, Any] | str) -> str:
    def part(value: dict[str, Any] | str) -> str:
        raw = value if isinstance(value, str) else json.dumps(value)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    return f"{part(header)}.{part(claims)}.c2ln"


def test_a_jwk_without_coordinates_is_a_bad_key() -> None:
    with pytest.raises(protocol.ProtocolError, match="bad_key"):
        protocol.import_public({"kty": "EC", "crv": "P-256", "x": "AA"})


def test_signing_needs_an_issuer_and_an_audience() -> None:
    with pytest.raises(ValueError, match="iss and aud"):
        protocol.sign(protocol.generate_key(), protocol.MessageType.AUTH, {"iss": "x"}, lifetime=5)


@pytest.mark.parametrize("token", ["", "x" * (protocol.MAX_TOKEN + 1), "a.W10.c2ln"])
def test_peek_refuses_what_is_no_message(token: str) -> None:
    with pytest.raises(protocol.ProtocolError, match="malformed"):
        protocol.peek(token)


def test_verify_refuses_a_token_that_does_not_decode() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.verify(
            "abc.def.ghi", protocol.generate_key(), protocol.MessageType.AUTH, audience="a"
        )


@pytest.mark.parametrize(
    "claims",
    [
        {"tx": "t", "nonce": "n", "exp": 1, "match": "nope"},
        {"nonce": "n", "exp": 1, "match": {}},
        {"tx": "t", "nonce": "n", "exp": "soon", "match": {}},
    ],
)
def test_a_challenge_view_refuses_malformed_claims(claims: dict[str, Any]) -> None:
    with pytest.raises(protocol.ProtocolError, match="malformed"):
        protocol.ChallengeView.from_claims(claims)


def test_ids_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A challenge id is typed after a command; ``-…`` would read as an option."""
    draws = iter([b"\xfb" + bytes(15), bytes(16)])  # the first encodes as "-w…"
    monkeypatch.setattr(secrets, "token_bytes", lambda n: next(draws))
    assert protocol.new_id() == "A" * 22
