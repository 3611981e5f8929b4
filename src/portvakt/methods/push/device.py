"""The Portvakt Authenticator's side of push (docs/protocol.md), pure: what a device's signed
message claims and whether it verifies, the activation QR and test number, a registration's
params, and the nonces a device signs to authenticate. The core's app door (``core.devices``)
reads and writes the rows."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from portvakt import protocol, wire
from portvakt.context import Context
from portvakt.domain import ChallengeState, ChallengeView, CredentialState, CredentialView, UserRef

NONCE_SECONDS = 60
DEVICE_INFO = ("name", "platform", "app")


class Refused(Exception):
    """A device message refused with one of the protocol's error codes."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def number_for(ctx: Context, tx: str, digits: int) -> str:
    """The number for challenge ``tx``: a keyed hash of its id, so only the server knows it."""
    digest = ctx.box.keyed_hash(tx.encode(), purpose="push-number")
    return f"{int(digest, 16) % 10**digits:0{digits}d}"


def server_url(ctx: Context) -> str:
    return (ctx.settings.public_url or ctx.base_url or "").rstrip("/")


def claimed(token: str) -> tuple[int, str]:
    """(credential id, device id) that a message claims to come from (``iss``), unverified."""
    try:
        iss = protocol.peek(token).get("iss")
        number, _rest = wire.prefixed_identifier(iss, max_length=80)
    except protocol.ProtocolError as exc:
        raise Refused("malformed") from exc
    except wire.Malformed as exc:
        raise Refused("unauthorized") from exc
    return number, str(iss)


def is_device_of(cred: CredentialView, device_id: str) -> bool:
    """The credential holds a registered device key and ``device_id`` is its id."""
    known = str(cred.params.get("device_id", ""))
    if not known or "jwk" not in cred.params:
        return False
    return hmac.compare_digest(known.encode(), device_id.encode())


def verified(
    ctx: Context, cred: CredentialView, token: str, typ: protocol.MessageType
) -> dict[str, Any]:
    """The claims of a message the credential's device signed (``ProtocolError`` if not)."""
    params = cred.params
    return protocol.verify(
        token,
        protocol.import_public(params["jwk"]),
        typ,
        audience=str(params["server"]),
        issuer=str(params["device_id"]),
        now=ctx.now().timestamp(),
    )


def new_nonce(ctx: Context) -> str:
    stamp = str(int(ctx.now().timestamp()))
    body = f"{stamp}.{protocol.new_id(12)}"
    return f"{body}.{ctx.box.keyed_hash(body.encode(), purpose='app-nonce')[:32]}"


def check_nonce(ctx: Context, nonce: str) -> bool:
    """One of ``new_nonce``'s, at most ``NONCE_SECONDS`` old. Compared as bytes:
    ``hmac.compare_digest`` refuses to compare non-ASCII text."""
    stamp, _, rest = nonce.partition(".")
    random_part, _, mac = rest.partition(".")
    if not random_part or len(nonce) > 120:
        return False
    try:
        issued = wire.number(stamp, max_digits=12)
    except wire.Malformed:
        return False
    body = f"{stamp}.{random_part}"
    expected = ctx.box.keyed_hash(body.encode(), purpose="app-nonce")[:32]
    age = ctx.now().timestamp() - issued
    return hmac.compare_digest(expected.encode(), mac.encode()) and -5 <= age <= NONCE_SECONDS


# -- activation --------------------------------------------------------------------------------


def activation_expires(cred: CredentialView, minutes: int) -> Any:
    return cred.created_at + timedelta(minutes=minutes)


def activation_display(
    ctx: Context,
    user: UserRef,
    cred: CredentialView,
    challenge: ChallengeView | None,
    app_key: str,
    minutes: int,
) -> dict[str, Any]:
    """``state``: waiting_for_app (with the QR's ``uri``), waiting_for_approval (with the test
    ``number``), active or expired; and ``expires_at``."""
    expires = activation_expires(cred, minutes)
    shown: dict[str, Any] = {"state": "expired", "uri": None, "number": None, "expires_at": expires}
    now = ctx.now()
    if cred.state is CredentialState.ACTIVE:
        shown["state"] = "active"
    elif "jwk" in cred.params and challenge is not None:
        if challenge.state is ChallengeState.PENDING and challenge.expires_at > now:
            digits = int(challenge.data.get("digits", 2))
            shown.update(state="waiting_for_approval", number=number_for(ctx, challenge.id, digits))
    elif cred.secret is not None and expires > now and app_key:
        uri = protocol.Activation(
            server=server_url(ctx),
            code=f"{cred.id}.{cred.secret.decode()}",
            fingerprint=app_key,
            account=user.username,
            issuer=ctx.settings.issuer,
        ).to_uri()
        shown.update(state="waiting_for_app", uri=uri)
    return shown


def activation_code(code: object) -> tuple[int, str]:
    """``<credential id>.<secret>`` from the QR: (id, secret)."""
    if not isinstance(code, str):
        raise Refused("malformed")
    try:
        return wire.prefixed_identifier(code, max_length=200)
    except wire.Malformed as exc:
        raise Refused("activation_invalid") from exc


def registration_claims(ctx: Context, token: str) -> dict[str, Any]:
    """A ``pv-register`` message, self-signed by the key it carries."""
    try:
        unverified = protocol.peek(token)
        key = protocol.import_public(unverified.get("jwk"))
        return protocol.verify(
            token,
            key,
            protocol.MessageType.REGISTER,
            audience=server_url(ctx),
            issuer=protocol.fingerprint(key),
            now=ctx.now().timestamp(),
        )
    except protocol.ProtocolError as exc:
        raise Refused(exc.code) from exc


def activation_usable(ctx: Context, cred: CredentialView | None, secret: str, minutes: int) -> bool:
    if cred is None or cred.state is not CredentialState.PENDING:
        return False
    if cred.secret is None or "jwk" in cred.params:
        return False
    return activation_expires(cred, minutes) > ctx.now() and hmac.compare_digest(
        cred.secret, secret.encode()
    )


def registered_params(claims: Mapping[str, Any], credential_id: int) -> dict[str, Any]:
    """The credential's params once its device key is registered."""
    return {
        "device_id": f"{credential_id}.{protocol.new_id()}",
        "server": claims["aud"],
        "jwk": protocol.public_jwk(protocol.import_public(claims["jwk"])),
        "kid": claims["iss"],
        "device": device_info(claims),
        "capabilities": capabilities(claims.get("capabilities")),
    }


def device_info(claims: Mapping[str, Any]) -> dict[str, str]:
    """The app's name (the method's label), platform and version, as printable text only
    (PostgreSQL cannot store NUL); anything else is left out."""
    raw = claims.get("device")
    texts = (
        {k: wire.printable(raw.get(k), 64) for k in DEVICE_INFO} if isinstance(raw, dict) else {}
    )
    return {k: v for k, v in texts.items() if v}


def capabilities(value: object) -> list[str]:
    """Up to ten short printable names (unknown ones kept, for a newer app), nothing else."""
    names = value if isinstance(value, list) else []
    return [c for c in names if isinstance(c, str) and 0 < len(c) <= 32 and c.isprintable()][:10]
