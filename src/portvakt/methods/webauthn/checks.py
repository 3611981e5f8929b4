"""Checks py_webauthn leaves to the relying party (SECURITY.md §2.E, WebAuthn L3 §7.1/§7.2):
a ceremony run inside another site's frame (``crossOrigin``, ``topOrigin``) is refused, since
Portvakt never embeds its pages; a discoverable credential's user handle must be the person's;
the backup-eligible flag of a key must not change after registration; credential ids stay
within 1,023 bytes."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from portvakt.context import Context
from portvakt.domain import CredentialView
from portvakt.methods.base import Counter, CounterRule, Verdict

MAX_CREDENTIAL_ID = 1023  # bytes (WebAuthn L3 §7.1)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def client_data(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ceremony's clientDataJSON as an object ({} when it cannot be read: py_webauthn
    then refuses it with its own reason)."""
    try:
        raw = (payload.get("response") or {}).get("clientDataJSON")
        data = json.loads(_unb64(raw)) if isinstance(raw, str) else {}
    except (ValueError, TypeError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


def framed(payload: Mapping[str, Any]) -> bool:
    """The ceremony ran in a frame of another origin (WA-03)."""
    data = client_data(payload)
    return data.get("crossOrigin") is True or "topOrigin" in data


def user_handle(payload: Mapping[str, Any]) -> bytes | None:
    """The assertion's user handle (None: absent or empty, as for a non-discoverable key)."""
    raw = (payload.get("response") or {}).get("userHandle")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return _unb64(raw)
    except ValueError:
        return b"?"  # present, but unreadable: matches no one


def counted(cred: CredentialView, checked: Any) -> Verdict:
    """A verified assertion against the key's record: its backup eligibility unchanged since
    registration, its sign count moving forward (0 staying 0 is a passkey that never counts)."""
    kept = cred.params.get("device_type")
    if kept and str(getattr(checked.credential_device_type, "value", "")) != kept:
        return Verdict(ok=False, reason="backup_eligibility_changed")
    stored = cred.counter or 0
    received = checked.new_sign_count
    if stored > 0 and received <= stored:
        return Verdict(
            ok=False,
            reason="sign_count_regressed",
            details={"stored": stored, "received": received},
            params={**cred.params, "flagged": "sign_count_regressed"},
        )
    return Verdict(ok=True, counter=Counter(received, CounterRule.SIGN_COUNT))


def fresh(ctx: Context, expires: object) -> bool:
    try:
        return isinstance(expires, str) and ctx.now() < datetime.fromisoformat(expires)
    except ValueError:
        return False


def why(exc: Exception) -> dict[str, str]:
    return {"error": type(exc).__name__, "detail": str(exc)[:160]}
