"""The authenticator app's door, in the core (docs/protocol.md): device activation by QR,
registration of the device key, device authentication, and the signed challenges a device may
answer. The protocol's pure parts belong to the method that registered for it (its ``app``:
``methods/push/device.py``); challenges are the generic ones of ``core.challenges``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from portvakt import protocol, wire
from portvakt.context import Context
from portvakt.core import challenges, delivery
from portvakt.core.audit import record
from portvakt.core.base import Core
from portvakt.core.credentials import open_sealed
from portvakt.core.signing import push_key
from portvakt.domain import CredentialState, CredentialView, Purpose
from portvakt.errors import Denied, NotFound
from portvakt.methods.base import FactorResponse, Method
from portvakt.store.repos import challenges as challenge_rows
from portvakt.store.repos import credentials, users
from portvakt.store.repos.challenges import Binding

MAX_TX = 32  # a challenge id (protocol.new_id: 22 characters) fits challenge.id
SERVER_CAPABILITIES = [c.value for c in protocol.Capability]


def app_method(core: Core) -> tuple[str, Any]:
    """The kind answered through the app protocol, and its method (which has ``app``)."""
    for kind in core.registry.kinds():
        method: Method = core.registry.get(kind)
        if hasattr(method, "app"):
            return kind, method
    raise Denied("unauthorized")


@dataclass(frozen=True, slots=True)
class Device:
    """A registered device key, found from the ``iss`` of a message it signed."""

    credential: CredentialView
    kind: str

    @property
    def credential_id(self) -> int:
        return self.credential.id

    @property
    def user_id(self) -> int:
        return self.credential.user_id


def find_device(core: Core, ctx: Context, token: str) -> Device:
    """The device that claims to have signed ``token`` (its signature is checked later)."""
    kind, method = app_method(core)
    try:
        number, claimed = method.app.claimed(token)
    except method.app.Refused as exc:
        raise Denied(exc.code) from exc
    with core.store.read() as s:
        found = credentials.get_by_id(s, number)
        view = found.view if found is not None else None
    if view is None or view.kind != kind or not method.app.is_device_of(view, claimed):
        raise Denied("unauthorized")
    return Device(view, kind)


def authenticate(core: Core, ctx: Context, header: str | None) -> Device:
    """``Authorization: PortvaktDevice <pv-auth>`` over a fresh server nonce."""
    scheme, _, token = (header or "").partition(" ")
    if scheme != protocol.AUTH_SCHEME or not token:
        raise Denied("unauthorized")
    device = find_device(core, ctx, token.strip())
    _kind, method = app_method(core)
    try:
        claims = method.app.verified(
            ctx, device.credential, token.strip(), protocol.MessageType.AUTH
        )
    except protocol.ProtocolError as exc:
        raise Denied(exc.code) from exc
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not method.app.check_nonce(ctx, nonce):
        raise Denied("unauthorized")
    return device


def nonce(core: Core, ctx: Context) -> tuple[str, int]:
    _kind, method = app_method(core)
    return method.app.new_nonce(ctx), method.app.NONCE_SECONDS


def answer(core: Core, ctx: Context, token: str) -> str:
    """A device's signed answer to one of its challenges: the new state, or ``Denied``."""
    device = find_device(core, ctx, token)
    try:
        tx = wire.token(protocol.peek(token).get("tx"), max_length=MAX_TX)
    except (protocol.ProtocolError, wire.Malformed) as exc:
        raise Denied("malformed") from exc
    return challenges.respond(
        core,
        ctx,
        challenge_id=tx,
        credential_id=device.credential_id,
        response=FactorResponse(payload={"token": token}),
    )


def pending_for(core: Core, ctx: Context, device: Device) -> list[str]:
    """Signed challenges this device may answer: the person's pending sign-ins (active
    devices), or its own activation test."""
    key = push_key(core, ctx)
    _kind, method = app_method(core)
    now = ctx.now()
    with core.store.read() as s:
        # The device's state is read again: a stream opened while it was being activated
        # must see sign-in requests once it is active, and nothing once it is removed.
        current = credentials.get_by_id(s, device.credential_id)
        if current is None or current.view.user_id != device.user_id:
            return []
        active = current.view.state is CredentialState.ACTIVE
        rows = challenge_rows.pending(s, device.user_id, device.kind, now)
    visible = [
        r
        for r in rows
        if (r.purpose is not Purpose.ENROLLMENT and active)
        or (r.purpose is Purpose.ENROLLMENT and r.credential_id == device.credential_id)
    ]
    params = device.credential.params
    return [
        protocol.sign(
            key,
            protocol.MessageType.CHALLENGE,
            method.challenge_claims(
                ctx, ch, server=str(params["server"]), device_id=str(params["device_id"])
            ),
            lifetime=max(1, int((ch.expires_at - now).total_seconds())),
            now=now.timestamp(),
        )
        for ch in visible
    ]


def register(core: Core, ctx: Context, token: str) -> dict[str, Any]:
    """``pv-register``: bind the device key to the pending credential named by the single-use
    activation code, and send the test challenge (PUSH-07)."""
    kind, method = app_method(core)
    try:
        claims = method.app.registration_claims(ctx, token)
        number, secret = method.app.activation_code(claims.get("code"))
    except method.app.Refused as exc:
        raise Denied(exc.code) from exc
    server_key = push_key(core, ctx)
    with core.store.write() as s:
        found = credentials.get_by_id(s, number, for_update=True)
        usable = found is not None and found.view.kind == kind
        view = open_sealed(ctx, found) if found is not None and usable else None
        if view is None or not method.activation_usable(ctx, view, secret):
            raise Denied("activation_invalid")
        params = method.app.registered_params(claims, view.id)
        label = " ".join(str(params["device"].get("name", "")).split())[:64]
        credentials.set_params(s, view.id, params, label=label)
        ref = users.by_id(s, view.user_id)
        assert ref is not None
        registered = replace(view, params=params, secret=None)
        sent = challenges.issue_in(
            s,
            core,
            ctx,
            user=ref,
            kind=kind,
            purpose=Purpose.ENROLLMENT,
            binding=Binding(credential_id=view.id),
            credentials_=[registered],
        )
        record(
            s,
            ctx,
            f"{kind}.device_registered",
            user_id=view.user_id,
            method=kind,
            credential_id=view.id,
            details={"device": params["device"]},
        )
    delivery.publish(core, sent)
    return {
        "device_id": params["device_id"],
        "server_key": protocol.public_jwk(server_key),
        "protocol": protocol.VERSION,
        "capabilities": SERVER_CAPABILITIES,
        "account": ref.username,
        "issuer": ctx.settings.issuer,
    }


@dataclass(frozen=True, slots=True)
class EnrollmentShown:
    credential_id: int
    kind: str
    label: str
    display: Mapping[str, Any]


def enrollment_display(
    core: Core, ctx: Context, *, user_id: int, credential_id: int
) -> EnrollmentShown:
    """What the person sees while adding a credential of any kind (its ``enroll.html``)."""
    with core.store.read() as s:
        found = credentials.get(s, user_id, credential_id)
        ref = users.by_id(s, user_id)
        if found is None or ref is None or found.view.kind not in core.registry:
            raise NotFound("enrollment_not_found")
        view = open_sealed(ctx, found)
        latest = challenge_rows.latest_for_credential(s, view.id)
    method = core.registry.get(view.kind)
    # the server key's fingerprint, for a kind answered through the app protocol
    app_key = protocol.fingerprint(push_key(core, ctx)) if hasattr(method, "app") else ""
    display = method.enrollment_display(ctx, ref, view, challenge=latest, app_key=app_key)
    return EnrollmentShown(view.id, view.kind, view.label, display)
