"""Text for people, shared by the command line and the TUI: the context of a sign-in request
(cleaned of control characters: it comes from the network), times, and what error codes mean."""

from __future__ import annotations

import time
import unicodedata
from datetime import datetime
from typing import Any

from portvakt.protocol import ChallengeView
from portvakt_authenticator.i18n import N_, _

MAX_FIELD = 120

MESSAGES: dict[str, str] = {
    # the store
    "wrong_pin": N_("wrong PIN (or the accounts file was altered)"),
    "pin_required": N_("the accounts are protected with a PIN"),
    "pin_needs_terminal": N_(
        "the accounts are protected with a PIN: type it at a terminal, or give it with --pin-stdin"
    ),
    "corrupt": N_("the accounts file is damaged and cannot be read"),
    "unsupported_format": N_("the accounts file was written by a newer or unknown app"),
    "busy": N_("another portvakt-authenticator command is changing the accounts; try again"),
    "pin_already_set": N_("a PIN is already set; use “pin change”"),
    "no_pin": N_("no PIN is set"),
    "pin_too_short": N_("the PIN must have at least 6 characters"),
    "pin_mismatch": N_("the two PINs differ"),
    # URIs
    "not_a_uri": N_("not an otpauth:// or portvakt://activate URI"),
    "not_an_activation_uri": N_("not a portvakt://activate URI"),
    "unsupported_type": N_("only TOTP and HOTP code accounts are supported"),
    "missing_secret": N_("the URI has no secret"),
    "bad_secret": N_("the secret is not valid base32"),
    "short_secret": N_("the secret is shorter than 112 bits, which is not supported"),
    "unsupported_parameters": N_("unsupported algorithm, digits, period or counter"),
    "bad_version": N_("the activation code has a bad version"),
    "unsupported_version": N_("this protocol version is not supported; update the app"),
    "incomplete_uri": N_("the activation URI is incomplete"),
    "bad_server_url": N_("the server address in the activation URI is not http(s)"),
    "no_qr_code": N_("no QR code found in the image"),
    "not_an_image": N_("the file is not an image"),
    # accounts and requests
    "not_found": N_("no such account"),
    "ambiguous": N_("more than one account matches; use its id"),
    "no_request": N_("no pending sign-in request"),
    "several_requests": N_("several sign-in requests are pending; give the id of one"),
    "no_such_request": N_("no pending sign-in request with that id"),
    "bad_number": N_("the number does not have the form of the one shown"),
    "no_push_accounts": N_("no push accounts"),
    "not_hotp": N_("not a HOTP account"),
    # the client
    "unreachable": N_("the server cannot be reached"),
    "bad_response": N_("the server gave an answer the app does not understand"),
    "server_error": N_("the server had an error"),
    "fingerprint_mismatch": N_(
        "the server's key does not match the QR code: registration stopped (possible attack)"
    ),
    "closed": N_("the server closed the connection"),
    # the server (docs/protocol.md, "Error codes")
    "malformed": N_("the server could not read the message"),
    "activation_invalid": N_("the activation code is unknown, used or expired; get a new QR code"),
    "key_in_use": N_("this device key is already registered"),
    "unauthorized": N_("the server does not know this device (was it removed?)"),
    "bad_signature": N_("the signature was refused"),
    "wrong_audience": N_("the message was for another server"),
    "wrong_type": N_("the server expected another kind of message"),
    "wrong_issuer": N_("the message came from another server"),
    "bad_times": N_("the message has impossible times (check the clock)"),
    "expired": N_("the request has expired"),
    "not_pending": N_("the request was already answered, expired or replaced"),
    "wrong_number": N_("wrong number: the sign-in was stopped"),
    "uv_required": N_("the service requires the app to be unlocked with a PIN; set one"),
    "bad_key": N_("the server's key is not a P-256 key"),
}

STATES: dict[str, str] = {
    "approved": N_("approved"),
    "denied": N_("denied"),
    "failed": N_("failed"),
    "expired": N_("expired"),
    "superseded": N_("replaced by a newer sign-in"),
}


def describe(code: str, detail: str = "") -> str:
    text = _(MESSAGES[code]) if code in MESSAGES else code
    return f"{text} ({clean(detail)})" if detail and detail != code else text


def state_text(state: str) -> str:
    return _(STATES[state]) if state in STATES else clean(state)


def clean(value: object, limit: int = MAX_FIELD) -> str:
    """A server-supplied value made safe to print: no control or format characters (no terminal
    escapes, no bidi overrides), at most ``limit`` characters."""
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in str(value)
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_time(value: Any) -> str:
    """A context ``time``: seconds since the epoch or an ISO 8601 string, shown in local time."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value).astimezone()
        else:
            moment = datetime.fromisoformat(str(value)).astimezone()
    except (ValueError, OverflowError, OSError):
        return clean(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def context_lines(view: ChallengeView) -> list[tuple[str, str]]:
    """(label, value) pairs of what the challenge says about the sign-in; missing ones left out."""
    ctx = view.context
    lines: list[tuple[str, str]] = []
    if view.purpose == "activation":
        lines.append((_("Purpose"), _("Test approval of this app")))
    for label, key in ((N_("Service"), "service"), (N_("Account"), "account")):
        if ctx.get(key):
            lines.append((_(label), clean(ctx[key])))
    if ctx.get("ip"):
        lines.append((_("IP address"), clean(ctx["ip"], 64)))
    place = ", ".join(clean(ctx[k]) for k in ("city", "country") if ctx.get(k))
    if place:
        lines.append((_("Place"), place))
    browser, system = clean(ctx.get("browser") or ""), clean(ctx.get("os") or "")
    if browser and system:
        lines.append(
            (_("Browser"), _("%(browser)s on %(os)s") % {"browser": browser, "os": system})
        )
    elif browser or system:
        lines.append((_("Browser"), browser or system))
    if ctx.get("time") is not None:
        lines.append((_("Time"), format_time(ctx["time"])))
    return lines


def seconds_left(view: ChallengeView, now: float | None = None) -> int:
    return max(0, int(view.expires_at - (time.time() if now is None else now)))
