"""The Portvakt push protocol, version 1: the one module the server and every authenticator
app share (docs/protocol.md is its prose form).

Every message is a compact JWS (a JWT signed with ES256 / P-256):

* ``pv-register``  app → server, signed by the *new device key*, carrying its public JWK and
  the single-use activation code from the QR.
* ``pv-auth``      app → server, signed by the device key over a fresh server nonce; it is
  the ``Authorization: PortvaktDevice <jwt>`` of the app's requests.
* ``pv-challenge`` server → app, signed by the *server key* the app pinned at activation.
  It never contains the number shown in the browser (PUSH-01, PUSH-05).
* ``pv-answer``    app → server, signed by the device key: approve or deny, the number the
  person typed, and whether the device was unlocked with user verification.

Each claim set has ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``typ`` and ``v``; challenges and
answers also ``tx`` (the challenge id) and ``nonce``. Pure: no I/O.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlparse

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
ALGORITHM = "ES256"
URI_SCHEME = "portvakt"
AUTH_SCHEME = "PortvaktDevice"
MAX_LIFETIME = 600  # seconds: no message is valid longer (NIST: OOB secrets ≤ 10 minutes)
CLOCK_LEEWAY = 30
MAX_TOKEN = 8192


class ProtocolError(Exception):
    """A message that must be refused; ``code`` says why (stable, for audit and tests)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class MessageType(enum.StrEnum):
    REGISTER = "pv-register"
    AUTH = "pv-auth"
    CHALLENGE = "pv-challenge"
    ANSWER = "pv-answer"


class Consent(enum.StrEnum):
    APPROVE = "approve"
    DENY = "deny"


class DenyReason(enum.StrEnum):
    NOT_ME = "not_me"
    CANCELLED = "cancelled"


class MatchMode(enum.StrEnum):
    TYPE = "type"  # the person types the number shown in the browser (default)
    PICK = "pick"  # the person picks it out of three (weaker; a setting)


class Capability(enum.StrEnum):
    NUMBER_TYPE = "number_type"
    NUMBER_PICK = "number_pick"
    USER_VERIFICATION = "uv"
    EVENTS = "events"  # holds the server-sent event stream


APP_PATHS = {
    "register": "/api/app/v1/register",
    "nonce": "/api/app/v1/nonce",
    "challenges": "/api/app/v1/challenges",
    "events": "/api/app/v1/events",
    "answers": "/api/app/v1/answers",
}


# -- keys ------------------------------------------------------------------------------------


def generate_key() -> ECKey:
    """A new P-256 key pair; on a device it never leaves the device."""
    return ECKey.generate_key("P-256", private=True)


def public_jwk(key: ECKey) -> dict[str, Any]:
    data = key.as_dict(private=False)
    return {name: data[name] for name in ("kty", "crv", "x", "y")}


def import_public(jwk: object) -> ECKey:
    """A public key from a JWK; anything but a P-256 public key is refused (a JSON value of
    another type, too: it arrives in a message)."""
    if not isinstance(jwk, Mapping):
        raise ProtocolError("bad_key", "expected a JWK object")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
        raise ProtocolError("bad_key", "expected a P-256 public JWK")
    try:
        return ECKey.import_key({name: jwk[name] for name in ("kty", "crv", "x", "y")})
    except (KeyError, ValueError, JoseError) as exc:
        raise ProtocolError("bad_key") from exc


def fingerprint(key: ECKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of the public part: what the QR pins."""
    return str(import_public(public_jwk(key)).thumbprint())


# -- activation URI --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activation:
    """``portvakt://activate?v=1&server=…&code=…&fp=…&account=…&issuer=…``"""

    server: str  # base URL of the Portvakt server, e.g. https://mfa.example.org
    code: str  # single-use activation code (≥ 128 bits), valid 10 minutes
    fingerprint: str  # the server signing key's thumbprint, pinned by the app
    account: str
    issuer: str
    version: int = VERSION

    def to_uri(self) -> str:
        query = urlencode(
            {
                "v": self.version,
                "server": self.server,
                "code": self.code,
                "fp": self.fingerprint,
                "account": self.account,
                "issuer": self.issuer,
            },
            quote_via=quote,
        )
        return f"{URI_SCHEME}://activate?{query}"

    @classmethod
    def parse(cls, uri: str) -> Activation:
        parsed = urlparse(uri.strip())
        if parsed.scheme != URI_SCHEME or parsed.netloc != "activate":
            raise ProtocolError("not_an_activation_uri")
        query = {k: v[0] for k, v in parse_qs(parsed.query, strict_parsing=False).items()}
        try:
            version = int(query.get("v", "0"))
        except ValueError as exc:
            raise ProtocolError("bad_version") from exc
        if version not in SUPPORTED_VERSIONS:
            raise ProtocolError("unsupported_version")
        missing = [k for k in ("server", "code", "fp") if not query.get(k)]
        if missing:
            raise ProtocolError("incomplete_uri", ", ".join(missing))
        server = query["server"].rstrip("/")
        target = urlparse(server)
        loopback = target.hostname in {"localhost", "127.0.0.1", "::1"}
        if target.scheme != "https" and not (target.scheme == "http" and loopback):
            raise ProtocolError("bad_server_url")  # plain http only for a server on this host
        return cls(
            server=server,
            code=query["code"],
            fingerprint=query["fp"],
            account=query.get("account", ""),
            issuer=query.get("issuer", ""),
            version=version,
        )


# -- signing and verifying ---------------------------------------------------------------------


def new_id(nbytes: int = 16) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


def sign(
    key: ECKey,
    typ: MessageType,
    claims: Mapping[str, Any],
    *,
    lifetime: int,
    now: float | None = None,
) -> str:
    """A compact JWS of ``typ``. ``claims`` must hold ``iss`` and ``aud``; ``typ``, ``v``,
    ``iat``, ``exp`` (≤ 10 minutes later) and ``jti`` are filled in."""
    if not claims.get("iss") or not claims.get("aud"):
        raise ValueError("iss and aud are required")
    issued = int(time.time() if now is None else now)
    body = {
        **claims,
        "typ": typ.value,
        "v": VERSION,
        "iat": issued,
        "exp": issued + min(lifetime, MAX_LIFETIME),
        "jti": new_id(),
    }
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": fingerprint(key)}
    return jwt.encode(header, body, key, algorithms=[ALGORITHM])


def peek(token: str) -> dict[str, Any]:
    """The claims *without* checking the signature, only to find which key must check it
    (the device id in ``iss``). Never act on what this returns."""
    _check_size(token)
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError) as exc:
        raise ProtocolError("malformed") from exc
    if not isinstance(value, dict):
        raise ProtocolError("malformed")
    return value


def verify(
    token: str,
    key: ECKey,
    typ: MessageType,
    *,
    audience: str,
    issuer: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the signature with ``key``, then type, version, audience, issuer and times.
    Raises ``ProtocolError`` with a stable code."""
    _check_size(token)
    try:
        decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
    except JoseError as exc:
        raise ProtocolError("bad_signature") from exc
    except ValueError as exc:  # pragma: no cover - joserfc 1.x raises JoseError for all we tried
        raise ProtocolError("malformed") from exc
    claims = dict(decoded.claims)
    _check_claims(claims, typ, audience=audience, issuer=issuer, now=now)
    return claims


def _check_size(token: str) -> None:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise ProtocolError("malformed")


def _check_claims(
    claims: dict[str, Any],
    typ: MessageType,
    *,
    audience: str,
    issuer: str | None,
    now: float | None,
) -> None:
    current = time.time() if now is None else now
    if claims.get("typ") != typ.value:
        raise ProtocolError("wrong_type")
    version = claims.get("v")
    if type(version) is not int or version not in SUPPORTED_VERSIONS:  # a list is unhashable
        raise ProtocolError("unsupported_version")
    if claims.get("aud") != audience:
        raise ProtocolError("wrong_audience")
    if issuer is not None and claims.get("iss") != issuer:
        raise ProtocolError("wrong_issuer")
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int) or not isinstance(expires, int):
        raise ProtocolError("malformed")
    if expires - issued > MAX_LIFETIME or issued > current + CLOCK_LEEWAY:
        raise ProtocolError("bad_times")
    if expires < current:
        raise ProtocolError("expired")
    if not isinstance(claims.get("jti"), str):
        raise ProtocolError("malformed")


# -- the number ----------------------------------------------------------------------------


def new_number(digits: int) -> str:
    """The number shown in the browser and typed on the phone (≥ 2 digits, zero-padded)."""
    if not 2 <= digits <= 6:
        raise ValueError("digits must be 2..6")
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def pick_choices(number: str) -> list[str]:
    """Three distinct numbers of the same length, in random order, one of them ``number``."""
    digits = len(number)
    choices = {number}
    while len(choices) < 3:
        choices.add(f"{secrets.randbelow(10**digits):0{digits}d}")
    ordered = sorted(choices)
    secrets.SystemRandom().shuffle(ordered)
    return ordered


def number_digest(number: str, nonce: str) -> str:
    """What the server stores instead of the number itself."""
    return hashlib.sha256(f"{nonce}:{number}".encode()).hexdigest()


# -- typed views of the messages -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChallengeView:
    """What an app shows: who is signing in where, and how to match the number."""

    tx: str
    nonce: str
    purpose: str  # "signin" or "activation"
    expires_at: int
    match_mode: MatchMode
    digits: int
    choices: tuple[str, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> ChallengeView:
        match = claims.get("match")
        if not isinstance(match, dict):
            raise ProtocolError("malformed")
        try:
            return cls(
                tx=str(claims["tx"]),
                nonce=str(claims["nonce"]),
                purpose=str(claims.get("purpose", "signin")),
                expires_at=int(claims["exp"]),
                match_mode=MatchMode(match.get("mode", "type")),
                digits=int(match.get("digits", 2)),
                choices=tuple(str(c) for c in match.get("choices", ())),
                context=dict(claims.get("context") or {}),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ProtocolError("malformed") from exc
