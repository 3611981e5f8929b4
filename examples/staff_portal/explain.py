"""Claims in plain words: what each one means, and how the person signed in (acr, amr,
auth_time). Pure functions over the claim values, so they are easy to read and to test."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

# Portvakt's authentication context classes (the ``acr`` claim), lowest to highest.
ACR_WORDS = {
    "urn:portvakt:acr:pwd": "with a password only",
    "urn:portvakt:acr:mfa": "with two-step verification: a password and a second factor",
    "urn:portvakt:acr:phr": (
        "with a phishing-resistant factor (a passkey or security key, which only works on "
        "Portvakt's real address)"
    ),
}

# RFC 8176 §2: the registered authentication method reference (``amr``) values.
AMR_WORDS = {
    "face": "face recognition",
    "fpt": "a fingerprint",
    "geo": "their location",
    "hwk": "a key held in hardware (a security key or the device's secure chip)",
    "iris": "an iris scan",
    "kba": "knowledge-based questions",
    "mca": "confirmation over more than one channel",
    "mfa": "more than one factor",
    "otp": "a one-time code",
    "pin": "a PIN",
    "pop": "proof of holding a key",
    "pwd": "a password",
    "rba": "a risk-based check",
    "retina": "a retina scan",
    "sc": "a smart card",
    "sms": "a code sent by text message",
    "swk": "a key held in software (such as an authenticator app)",
    "tel": "a phone call",
    "user": "a tap or button press (user presence)",
    "vbm": "their voice",
    "wia": "Windows integrated authentication",
}

CLAIM_MEANINGS = {
    "iss": "who issued the token: Portvakt's address",
    "sub": "your permanent id at Portvakt: the value an app should store to recognise you",
    "aud": "the app the token is for: this portal's client id",
    "azp": "the app the token was issued to",
    "exp": "when the token stops being valid",
    "iat": "when Portvakt made the token",
    "auth_time": "when you last actually signed in at Portvakt",
    "nonce": "the random value this portal sent, echoed back to tie the token to this sign-in",
    "acr": "how strong the sign-in was (authentication context class)",
    "amr": "how you signed in (authentication methods, RFC 8176)",
    "sid": "your Portvakt session, used for signing out",
    "at_hash": "a hash of the access token, binding the two tokens together",
    "name": "your full name",
    "preferred_username": "your username at Portvakt (may change; do not use it as the key)",
    "email": "your email address",
    "email_verified": "whether Portvakt has confirmed the email address",
    "phone_number": "your phone number",
    "phone_number_verified": "whether Portvakt has confirmed the phone number",
    "updated_at": "when your profile last changed",
}

TIME_CLAIMS = frozenset({"exp", "iat", "auth_time", "nbf", "updated_at"})


@dataclass(frozen=True)
class ClaimRow:
    name: str
    text: str  # the value for people to read
    json: str  # the exact value, for machines (the page puts it in a data attribute)
    meaning: str


def format_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _text(name: str, value: object) -> str:
    if name in TIME_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value} ({format_time(value)})"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False)


def claim_rows(claims: Mapping[str, object]) -> list[ClaimRow]:
    """One row per claim, the well-known ones first in the order of CLAIM_MEANINGS."""
    order = {name: i for i, name in enumerate(CLAIM_MEANINGS)}
    names = sorted(claims, key=lambda n: (order.get(n, len(order)), n))
    return [
        ClaimRow(
            name=n,
            text=_text(n, claims[n]),
            json=json.dumps(claims[n], ensure_ascii=False),
            meaning=CLAIM_MEANINGS.get(n, ""),
        )
        for n in names
    ]


def describe_acr(acr: object) -> str:
    if not isinstance(acr, str) or not acr:
        return "Portvakt did not say how strong the sign-in was (no acr claim)."
    words = ACR_WORDS.get(acr)
    if words is None:
        return f"You signed in at a level this portal does not know ({acr})."
    return f"You signed in {words} ({acr})."


def describe_amr(amr: object) -> str:
    if not isinstance(amr, Sequence) or isinstance(amr, str) or not amr:
        return "Portvakt did not list the methods used (no amr claim)."
    methods = [AMR_WORDS.get(str(v), f"“{v}”") for v in amr if v != "mfa"]
    text = "You proved who you are with " + _join(methods) if methods else "You signed in"
    if "mfa" in amr:
        text += ", which is more than one factor"
    return f"{text} ({', '.join(str(v) for v in amr)})."


def describe_auth_time(auth_time: object, *, now: float) -> str:
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        return "Portvakt did not say when you signed in (no auth_time claim)."
    minutes = max(0, round((now - auth_time) / 60))
    ago = "less than a minute ago" if minutes == 0 else f"{minutes} min ago"
    return (
        f"You last typed your credentials at Portvakt on {format_time(auth_time)} ({ago}). "
        "If you were already signed in at Portvakt, this is earlier than the sign-in to this "
        "portal: an app that needs a fresh sign-in asks for prompt=login or max_age."
    )


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
