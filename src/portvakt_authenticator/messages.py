"""The push messages the app signs and checks (docs/protocol.md, "Messages"), as pure
functions over ``portvakt.protocol``: ``pv-register``, ``pv-auth``, ``pv-answer`` out, and
``pv-challenge`` in, verified with the pinned server key. No I/O."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.protocol import ChallengeView, Consent, DenyReason, MatchMode, MessageType
from portvakt_authenticator import __version__
from portvakt_authenticator.accounts import PushAccount

APP_NAME = f"portvakt-authenticator/{__version__}"
CAPABILITIES = (
    protocol.Capability.NUMBER_TYPE,
    protocol.Capability.NUMBER_PICK,
    protocol.Capability.USER_VERIFICATION,
    protocol.Capability.EVENTS,
)
REGISTER_LIFETIME = 120
AUTH_LIFETIME = 60  # docs/protocol.md: a pv-auth token lives ≤ 60 s
ANSWER_LIFETIME = 60


@dataclass(frozen=True, slots=True)
class Request:
    """A verified challenge of one push account: what the person approves or denies."""

    account_id: str
    account_name: str
    view: ChallengeView

    @property
    def tx(self) -> str:
        return self.view.tx


@dataclass(frozen=True, slots=True)
class Dropped:
    """A challenge that failed verification (forged, wrong audience, expired …)."""

    account_id: str
    account_name: str
    code: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What the person decided. ``uv`` is true only if the store was opened with the PIN for
    this answer (the app's user verification)."""

    consent: Consent
    number: str | None = None
    uv: bool = False
    reason: DenyReason | None = None

    @classmethod
    def approve(cls, number: str, *, uv: bool = False) -> Answer:
        return cls(Consent.APPROVE, number=number, uv=uv)

    @classmethod
    def deny(cls, reason: DenyReason = DenyReason.CANCELLED) -> Answer:
        return cls(Consent.DENY, reason=reason)


def register_token(
    key: ECKey, activation: protocol.Activation, *, device_name: str, now: float | None = None
) -> str:
    """``pv-register``: signed with the new device key; ``iss`` is its thumbprint."""
    claims = {
        "iss": protocol.fingerprint(key),
        "aud": activation.server,
        "code": activation.code,
        "jwk": protocol.public_jwk(key),
        "device": {"name": device_name, "platform": sys.platform, "app": APP_NAME},
        "capabilities": [c.value for c in CAPABILITIES],
    }
    return protocol.sign(key, MessageType.REGISTER, claims, lifetime=REGISTER_LIFETIME, now=now)


def auth_token(account: PushAccount, nonce: str, *, now: float | None = None) -> str:
    """``pv-auth`` over a fresh server nonce, for ``Authorization: PortvaktDevice …``."""
    claims = {"iss": account.device_id, "aud": account.server, "nonce": nonce}
    return protocol.sign(account.key(), MessageType.AUTH, claims, lifetime=AUTH_LIFETIME, now=now)


def open_challenge(account: PushAccount, token: str, *, now: float | None = None) -> Request:
    """Verify a ``pv-challenge`` with the pinned server key (``iss`` = the server URL, ``aud`` =
    our device id) and read it; ``ProtocolError`` if it must be refused."""
    claims = protocol.verify(
        token,
        account.server_public(),
        MessageType.CHALLENGE,
        audience=account.device_id,
        issuer=account.server,
        now=now,
    )
    view = ChallengeView.from_claims(claims)
    if view.match_mode is MatchMode.PICK and not view.choices:
        raise protocol.ProtocolError("malformed")
    return Request(account_id=account.id, account_name=account.name, view=view)


def check_number(view: ChallengeView, number: str) -> str:
    """The number as it will be sent; ``ValueError`` if it cannot be right (no request then:
    a wrong number fails the challenge on the server)."""
    cleaned = number.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) != view.digits:
        raise ValueError("bad_number")
    if view.match_mode is MatchMode.PICK and cleaned not in view.choices:
        raise ValueError("bad_number")
    return cleaned


def answer_token(
    account: PushAccount, view: ChallengeView, answer: Answer, *, now: float | None = None
) -> str:
    """``pv-answer``, signed with the device key."""
    claims: dict[str, Any] = {
        "iss": account.device_id,
        "aud": account.server,
        "tx": view.tx,
        "nonce": view.nonce,
        "consent": answer.consent.value,
        "uv": answer.uv,
    }
    if answer.consent is Consent.APPROVE:
        if answer.number is None:
            raise ValueError("approving needs the number")
        claims["number"] = check_number(view, answer.number)
    else:
        claims["reason"] = (answer.reason or DenyReason.CANCELLED).value
    return protocol.sign(
        account.key(), MessageType.ANSWER, claims, lifetime=ANSWER_LIFETIME, now=now
    )
