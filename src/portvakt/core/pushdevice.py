"""Authenticator devices: activation by QR, registration of the device key, device
authentication for the app's requests, and the signed challenges a device may see."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from portvakt import protocol, wire
from portvakt.context import Context
from portvakt.core import enrollment
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.credentials import open_view
from portvakt.core.signing import push_key
from portvakt.domain import CredentialState
from portvakt.errors import Denied, NotFound
from portvakt.methods.push.method import ChallengeData, PushMethod
from portvakt.store.models import Credential, PushChallenge, User
from portvakt.store.repos import credentials, users

NONCE_SECONDS = 60
SERVER_CAPABILITIES = [c.value for c in protocol.Capability]
DEVICE_INFO = ("name", "platform", "app")


def number_for(ctx: Context, tx: str, digits: int) -> str:
    """The number for challenge ``tx``: a keyed hash of its id, so only the server knows it."""
    digest = ctx.box.keyed_hash(tx.encode(), purpose="push-number")
    return f"{int(digest, 16) % 10**digits:0{digits}d}"


def challenge_data(ctx: Context, row: PushChallenge) -> ChallengeData:
    return ChallengeData(
        tx=row.id,
        nonce=row.nonce,
        number=number_for(ctx, row.id, row.digits),
        expires_at=row.expires_at,
        purpose=row.purpose,
        match_mode=row.match_mode,
        digits=row.digits,
        choices=tuple(row.choices or ()),
        context=dict(row.context or {}),
    )


@dataclass(frozen=True, slots=True)
class Device:
    """A registered device key, found from the ``iss`` of a message it signed."""

    credential_id: int
    user_id: int
    device_id: str
    server: str
    key: ECKey
    active: bool
    now: float

    def verify(self, token: str, typ: protocol.MessageType) -> dict[str, Any]:
        try:
            return protocol.verify(
                token, self.key, typ, audience=self.server, issuer=self.device_id, now=self.now
            )
        except protocol.ProtocolError as exc:
            raise Denied(exc.code) from exc

    def mark_used(self, s: Session, ctx: Context, *, activate: bool) -> None:
        row = s.get(Credential, self.credential_id)
        if row is None:
            return
        row.last_used_at = ctx.now()
        if activate and row.state == CredentialState.PENDING.value:
            others = credentials.for_user(s, self.user_id, active_only=True)
            row.state = CredentialState.ACTIVE.value
            row.is_default = not any(c.is_default for c in others)
            record(
                s,
                ctx,
                Event.METHOD_ADDED,
                user_id=self.user_id,
                method="push",
                credential_id=row.id,
                details={"device": row.params.get("device", {})},
            )

    def user_row(self, s: Session) -> User | None:
        return users.by_id(s, self.user_id, for_update=True)


def find_device(core: Core, ctx: Context, token: str) -> Device:
    """The device that claims to have signed ``token`` (its signature is checked later)."""
    try:
        claimed = protocol.peek(token).get("iss")
        number, _rest = wire.prefixed_identifier(claimed, max_length=80)
    except protocol.ProtocolError as exc:
        raise Denied("malformed") from exc
    except wire.Malformed as exc:
        raise Denied("unauthorized") from exc
    with core.store.read() as s:
        row = s.get(Credential, number)
        params = dict(row.params or {}) if row is not None else {}
        known = str(params.get("device_id", ""))
        if row is None or row.kind != "push" or not known or "jwk" not in params:
            raise Denied("unauthorized")
        if not hmac.compare_digest(known.encode(), str(claimed).encode()):
            raise Denied("unauthorized")
        return Device(
            credential_id=row.id,
            user_id=row.user_id,
            device_id=known,
            server=str(params["server"]),
            key=protocol.import_public(params["jwk"]),
            active=row.state == CredentialState.ACTIVE.value,
            now=ctx.now().timestamp(),
        )


def authenticate(core: Core, ctx: Context, header: str | None) -> Device:
    """``Authorization: PortvaktDevice <pv-auth>`` over a fresh server nonce."""
    scheme, _, token = (header or "").partition(" ")
    if scheme != protocol.AUTH_SCHEME or not token:
        raise Denied("unauthorized")
    device = find_device(core, ctx, token.strip())
    claims = device.verify(token.strip(), protocol.MessageType.AUTH)
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not check_nonce(ctx, nonce):
        raise Denied("unauthorized")
    return device


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


def pending_for(core: Core, ctx: Context, device: Device) -> list[str]:
    """Signed challenges this device may answer: the person's pending sign-ins (active
    devices), or its own activation test."""
    key = push_key(core, ctx)
    method = PushMethod()
    now = ctx.now()
    with core.store.read() as s:
        # The device's state is read again: a stream opened while it was being activated
        # must see sign-in requests once it is active, and nothing once it is removed.
        current = s.get(Credential, device.credential_id)
        if current is None or current.user_id != device.user_id:
            return []
        active = current.state == CredentialState.ACTIVE.value
        rows = s.scalars(
            select(PushChallenge)
            .where(
                PushChallenge.user_id == device.user_id,
                PushChallenge.state == "pending",
                PushChallenge.expires_at > now,
            )
            .order_by(PushChallenge.created_at)
        )
        visible = [
            challenge_data(ctx, r)
            for r in rows
            if (r.purpose != "activation" and active)
            or (r.purpose == "activation" and r.credential_id == device.credential_id)
        ]
    return [
        protocol.sign(
            key,
            protocol.MessageType.CHALLENGE,
            method.challenge_claims(ch, server=device.server, device_id=device.device_id),
            lifetime=max(1, int((ch.expires_at - now).total_seconds())),
            now=now.timestamp(),
        )
        for ch in visible
    ]


# -- activation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activation:
    credential_id: int
    state: str  # waiting_for_app, waiting_for_approval, active, expired
    uri: str | None
    number: str | None
    expires_at: datetime


def begin_activation(core: Core, ctx: Context, *, user_id: int) -> int:
    return enrollment.begin(core, ctx, user_id=user_id, kind="push")


def activation(core: Core, ctx: Context, *, user_id: int, credential_id: int) -> Activation:
    """What the Security info page shows while a device is being added."""
    server_key = push_key(core, ctx)
    with core.store.read() as s:
        row = credentials.get(s, user_id, credential_id)
        user = users.by_id(s, user_id)
        if row is None or user is None or row.kind != "push":
            raise NotFound("enrollment_not_found")
        expires = row.created_at + timedelta(minutes=ctx.settings.push_activation_minutes)
        challenge = s.scalars(
            select(PushChallenge)
            .where(PushChallenge.credential_id == row.id)
            .order_by(PushChallenge.created_at.desc())
        ).first()
        view = open_view(ctx, row)
    if row.state == CredentialState.ACTIVE.value:
        return Activation(credential_id, "active", None, None, expires)
    if "jwk" in view.params and challenge is not None:
        if challenge.state == "pending" and challenge.expires_at > ctx.now():
            number = number_for(ctx, challenge.id, challenge.digits)
            return Activation(credential_id, "waiting_for_approval", None, number, expires)
        return Activation(credential_id, "expired", None, None, expires)
    if view.secret is None or expires <= ctx.now():
        return Activation(credential_id, "expired", None, None, expires)
    uri = protocol.Activation(
        server=_server(ctx),
        code=f"{row.id}.{view.secret.decode()}",
        fingerprint=protocol.fingerprint(server_key),
        account=user.username,
        issuer=ctx.settings.issuer,
    ).to_uri()
    return Activation(credential_id, "waiting_for_app", uri, None, expires)


def register(core: Core, ctx: Context, token: str) -> dict[str, Any]:
    """``pv-register``: bind the device key to the pending credential named by the single-use
    activation code, and send the test challenge (PUSH-07)."""
    claims = _registration_claims(ctx, token)
    number, secret = _activation_code(claims.get("code"))
    server_key = push_key(core, ctx)
    with core.store.write() as s:
        row = s.get(Credential, number, with_for_update=True)
        if not _activation_usable(ctx, row, secret):
            raise Denied("activation_invalid")
        assert row is not None
        device_id = f"{row.id}.{protocol.new_id()}"
        row.params = {
            "device_id": device_id,
            "server": claims["aud"],
            "jwk": protocol.public_jwk(protocol.import_public(claims["jwk"])),
            "kid": claims["iss"],
            "device": _device_info(claims),
            "capabilities": _capabilities(claims.get("capabilities")),
        }
        if not row.label:
            row.label = " ".join(row.params["device"].get("name", "").split())[:64]
        row.secret = None  # the activation code is spent
        row.key_id = None
        user = users.by_id(s, row.user_id)
        assert user is not None
        tx = _activation_challenge(s, ctx, row)
        record(
            s,
            ctx,
            Event.PUSH_DEVICE_REGISTERED,
            user_id=row.user_id,
            method="push",
            credential_id=row.id,
            details={"device": row.params["device"]},
        )
        answer = {
            "device_id": device_id,
            "server_key": protocol.public_jwk(server_key),
            "protocol": protocol.VERSION,
            "capabilities": SERVER_CAPABILITIES,
            "account": user.username,
            "issuer": ctx.settings.issuer,
            "user_id": row.user_id,
            "tx": tx,
        }
    core.notifier.publish(f"user:{answer['user_id']}", json.dumps({"type": "challenge", "tx": tx}))
    return answer


def _activation_code(code: object) -> tuple[int, str]:
    """``<credential id>.<secret>`` from the QR: (id, secret)."""
    if not isinstance(code, str):
        raise Denied("malformed")
    try:
        return wire.prefixed_identifier(code, max_length=200)
    except wire.Malformed as exc:
        raise Denied("activation_invalid") from exc


def _registration_claims(ctx: Context, token: str) -> dict[str, Any]:
    try:
        unverified = protocol.peek(token)
        key = protocol.import_public(unverified.get("jwk"))
        claims = protocol.verify(
            token,
            key,
            protocol.MessageType.REGISTER,
            audience=_server(ctx),
            issuer=protocol.fingerprint(key),
            now=ctx.now().timestamp(),
        )
    except protocol.ProtocolError as exc:
        raise Denied(exc.code) from exc
    return claims


def _activation_usable(ctx: Context, row: Credential | None, secret: str) -> bool:
    if row is None or row.kind != "push" or row.state != CredentialState.PENDING.value:
        return False
    if row.secret is None or row.key_id is None or "jwk" in (row.params or {}):
        return False
    expires = row.created_at + timedelta(minutes=ctx.settings.push_activation_minutes)
    stored = open_view(ctx, row).secret or b""
    return expires > ctx.now() and hmac.compare_digest(stored, secret.encode())


def _activation_challenge(s: Session, ctx: Context, row: Credential) -> str:
    now = ctx.now()
    challenge = PushChallenge(
        id=protocol.new_id(),
        user_id=row.user_id,
        signin_id=None,
        credential_id=row.id,
        purpose="activation",
        nonce=protocol.new_id(),
        match_mode=protocol.MatchMode.TYPE.value,
        digits=ctx.settings.push_number_digits,
        choices=[],
        context={
            "service": ctx.settings.issuer,
            "ip": ctx.ip or "",
            "time": now.isoformat(timespec="seconds"),
        },
        state="pending",
        created_at=now,
        expires_at=now + timedelta(minutes=ctx.settings.push_activation_minutes),
    )
    challenge.number_digest = protocol.number_digest(
        number_for(ctx, challenge.id, challenge.digits), challenge.nonce
    )
    s.add(challenge)
    return challenge.id


def _device_info(claims: dict[str, Any]) -> dict[str, str]:
    """The app's name (the method's label), platform and version, as printable text only
    (PostgreSQL cannot store NUL); anything else is left out."""
    raw = claims.get("device")
    texts = (
        {k: wire.printable(raw.get(k), 64) for k in DEVICE_INFO} if isinstance(raw, dict) else {}
    )
    return {k: v for k, v in texts.items() if v}


def _capabilities(value: object) -> list[str]:
    """Up to ten short printable names (unknown ones kept, for a newer app), nothing else."""
    names = value if isinstance(value, list) else []
    return [c for c in names if isinstance(c, str) and 0 < len(c) <= 32 and c.isprintable()][:10]


def _server(ctx: Context) -> str:
    return (ctx.settings.public_url or ctx.base_url or "").rstrip("/")
