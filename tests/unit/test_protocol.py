"""portvakt.protocol: the shared wire rules (PUSH-01, PUSH-02, PUSH-07)."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from portvakt import protocol

NOW = 1_800_000_000.0


def _signed(
    typ: protocol.MessageType = protocol.MessageType.ANSWER, **extra: object
) -> tuple[str, ECKey]:
    key = protocol.generate_key()
    claims = {"iss": "dev-1", "aud": "https://mfa.example.org", **extra}
    return protocol.sign(key, typ, claims, lifetime=60, now=NOW), key


def test_sign_and_verify_round_trip() -> None:
    token, key = _signed(tx="t1")
    claims = protocol.verify(
        token,
        key,
        protocol.MessageType.ANSWER,
        audience="https://mfa.example.org",
        issuer="dev-1",
        now=NOW + 5,
    )
    assert claims["tx"] == "t1" and claims["v"] == 1 and claims["exp"] == int(NOW) + 60


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"typ": protocol.MessageType.CHALLENGE}, "wrong_type"),
        ({"audience": "https://evil.example"}, "wrong_audience"),
        ({"issuer": "dev-2"}, "wrong_issuer"),
        ({"now": NOW + 61}, "expired"),
    ],
)
def test_verify_refuses(change: dict[str, object], code: str) -> None:
    token, key = _signed()
    args: dict[str, object] = {"audience": "https://mfa.example.org", "issuer": "dev-1", "now": NOW}
    typ = change.pop("typ", protocol.MessageType.ANSWER)
    args.update(change)
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.verify(token, key, typ, **args)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_another_key_or_a_flipped_byte_is_a_bad_signature() -> None:
    token, _key = _signed()
    other = protocol.generate_key()
    with pytest.raises(protocol.ProtocolError, match="bad_signature"):
        protocol.verify(
            token, other, protocol.MessageType.ANSWER, audience="https://mfa.example.org", now=NOW
        )


def test_activation_uri_round_trip_and_rules() -> None:
    uri = protocol.Activation(
        server="https://mfa.example.org",
        code="1.abc",
        fingerprint="fp",
        account="ola",
        issuer="Uni",
    ).to_uri()
    parsed = protocol.Activation.parse(uri)
    assert parsed.server == "https://mfa.example.org" and parsed.code == "1.abc"
    assert protocol.Activation.parse(
        uri.replace("https%3A%2F%2Fmfa.example.org", "http%3A%2F%2F127.0.0.1%3A8000")
    )
    for bad in (
        uri.replace("https%3A%2F%2Fmfa", "http%3A%2F%2Fmfa"),
        uri.replace("v=1", "v=9"),
        "otpauth://totp/x?secret=A",
        uri.replace("fp=fp", ""),
    ):
        with pytest.raises(protocol.ProtocolError):
            protocol.Activation.parse(bad)


def test_numbers_and_choices() -> None:
    assert len(protocol.new_number(2)) == 2 and len(protocol.new_number(6)) == 6
    with pytest.raises(ValueError):
        protocol.new_number(1)
    choices = protocol.pick_choices("42")
    assert "42" in choices and len(set(choices)) == 3


def test_public_jwk_never_carries_the_private_part() -> None:
    key = protocol.generate_key()
    assert "d" not in protocol.public_jwk(key)
    with pytest.raises(protocol.ProtocolError):
        protocol.import_public(key.as_dict(private=True))


@pytest.mark.parametrize("jwk", [["EC", "P-256"], "EC", 5, None, True])
def test_a_jwk_of_another_json_type_is_a_bad_key(jwk: object) -> None:
    """Issue 9, item 5: a list where the JWK object belongs was an AttributeError (a 500)."""
    with pytest.raises(protocol.ProtocolError) as refused:
        protocol.import_public(jwk)
    assert refused.value.code == "bad_key"


@pytest.mark.parametrize("version", [[1], {"v": 1}, "1", True, 1.0, None, 2])
def test_a_version_that_is_not_a_supported_integer_is_unsupported(version: object) -> None:
    """A list or an object is unhashable: ``[1] in {1}`` raised instead of refusing."""
    key = protocol.generate_key()
    claims = {"iss": "dev-1", "aud": "https://mfa.example.org", "typ": "pv-answer", "v": version}
    claims |= {"iat": int(NOW), "exp": int(NOW) + 60, "jti": "j"}
    header = {"alg": protocol.ALGORITHM, "typ": "JWT", "kid": protocol.fingerprint(key)}
    token = jwt.encode(header, claims, key, algorithms=[protocol.ALGORITHM])
    with pytest.raises(protocol.ProtocolError) as refused:
        protocol.verify(
            token, key, protocol.MessageType.ANSWER, audience="https://mfa.example.org", now=NOW
        )
    assert refused.value.code == "unsupported_version"
