"""A unit-level stand-in for the server side of docs/protocol.md, behind ``httpx.MockTransport``:
it checks what the app sends with ``portvakt.protocol`` exactly as the contract says, so the
client tests prove the app's messages. The real server's end-to-end tests replace it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.protocol import MessageType

URL = "https://mfa.example.org"


@dataclass
class Issued:
    tx: str
    device_id: str
    number: str
    nonce: str
    mode: str = "type"
    choices: tuple[str, ...] = ()
    purpose: str = "signin"
    context: dict[str, Any] = field(default_factory=dict)
    state: str = "pending"


class FakeServer:
    def __init__(self, url: str = URL) -> None:
        self.url = url
        self.key = protocol.generate_key()
        self.codes = {"CODE-1"}
        self.devices: dict[str, ECKey] = {}
        self.nonces: set[str] = set()
        self.issued: dict[str, Issued] = {}
        self.answers: list[dict[str, Any]] = []
        self.registrations: list[dict[str, Any]] = []
        self.present_key: ECKey | None = None  # a man in the middle's key, if set
        self.extra_challenges: list[str] = []  # raw tokens added to GET /challenges
        self.requests: list[httpx.Request] = []

    # -- what a test sets up ---------------------------------------------------------------

    def activation(self, code: str = "CODE-1") -> protocol.Activation:
        return protocol.Activation(
            server=self.url,
            code=code,
            fingerprint=protocol.fingerprint(self.key),
            account="alice",
            issuer="Portvakt",
        )

    def issue(
        self,
        device_id: str,
        *,
        number: str = "42",
        mode: str = "type",
        choices: tuple[str, ...] = (),
        context: dict[str, Any] | None = None,
        purpose: str = "signin",
    ) -> Issued:
        issued = Issued(
            tx=protocol.new_id(),
            device_id=device_id,
            number=number,
            nonce=protocol.new_id(),
            mode=mode,
            choices=choices,
            purpose=purpose,
            context=context
            if context is not None
            else {"service": "Webmail", "ip": "192.0.2.7", "city": "Bergen"},
        )
        self.issued[issued.tx] = issued
        return issued

    def challenge_token(self, issued: Issued, *, key: ECKey | None = None) -> str:
        match: dict[str, Any] = {"mode": issued.mode, "digits": len(issued.number)}
        if issued.mode == "pick":
            match["choices"] = list(issued.choices)
        claims = {
            "iss": self.url,
            "aud": issued.device_id,
            "tx": issued.tx,
            "nonce": issued.nonce,
            "purpose": issued.purpose,
            "match": match,
            "context": issued.context,
        }
        return protocol.sign(key or self.key, MessageType.CHALLENGE, claims, lifetime=60)

    # -- the transport ---------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        routes = {
            ("POST", protocol.APP_PATHS["register"]): self._register,
            ("GET", protocol.APP_PATHS["nonce"]): self._nonce,
            ("GET", protocol.APP_PATHS["challenges"]): self._challenges,
            ("GET", protocol.APP_PATHS["events"]): self._events,
            ("POST", protocol.APP_PATHS["answers"]): self._answer,
        }
        route = routes.get((request.method, request.url.path))
        if route is None or not str(request.url).startswith(self.url):
            return _error(404, "not_found")
        try:
            return route(request)
        except protocol.ProtocolError as exc:
            status = 410 if exc.code == "expired" else 401
            return _error(400 if exc.code == "malformed" else status, exc.code)

    def _register(self, request: httpx.Request) -> httpx.Response:
        token = json.loads(request.content)["token"]
        device_key = protocol.import_public(protocol.peek(token)["jwk"])
        claims = protocol.verify(
            token,
            device_key,
            MessageType.REGISTER,
            audience=self.url,
            issuer=protocol.fingerprint(device_key),
        )
        if claims["code"] not in self.codes:
            return _error(410, "activation_invalid")
        self.codes.discard(claims["code"])
        self.registrations.append(claims)
        device_id = f"dev-{len(self.devices) + 1}"
        self.devices[device_id] = device_key
        shown = self.present_key or self.key
        body = {
            "device_id": device_id,
            "server_key": protocol.public_jwk(shown),
            "protocol": 1,
            "capabilities": ["number_type", "events"],
            "account": "alice",
            "issuer": "Portvakt",
        }
        return httpx.Response(201, json=body)

    def _nonce(self, request: httpx.Request) -> httpx.Response:
        nonce = protocol.new_id()
        self.nonces.add(nonce)
        return httpx.Response(200, json={"nonce": nonce, "expires_in": 60})

    def _device(self, request: httpx.Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != protocol.AUTH_SCHEME or not token:
            return None
        device_id = str(protocol.peek(token).get("iss"))
        key = self.devices.get(device_id)
        if key is None:
            return None
        claims = protocol.verify(token, key, MessageType.AUTH, audience=self.url, issuer=device_id)
        return device_id if claims.get("nonce") in self.nonces else None

    def _challenges(self, request: httpx.Request) -> httpx.Response:
        device_id = self._device(request)
        if device_id is None:
            return _error(401, "unauthorized")
        tokens = [
            self.challenge_token(i)
            for i in self.issued.values()
            if i.device_id == device_id and i.state == "pending"
        ]
        return httpx.Response(200, json={"challenges": tokens + self.extra_challenges})

    def _events(self, request: httpx.Request) -> httpx.Response:
        device_id = self._device(request)
        if device_id is None:
            return _error(401, "unauthorized")
        lines = [": keep-alive", ""]
        for issued in self.issued.values():
            if issued.device_id != device_id:
                continue
            if issued.state == "pending":
                lines += ["event: challenge", f"data: {self.challenge_token(issued)}", ""]
            else:
                data = json.dumps({"tx": issued.tx, "state": issued.state})
                lines += ["event: answered", f"data: {data}", ""]
        for token in self.extra_challenges:
            lines += ["event: challenge", f"data: {token}", ""]
        body = ("\n".join(lines) + "\n").encode()
        return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=body)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        token = json.loads(request.content)["token"]
        device_id = str(protocol.peek(token).get("iss"))
        key = self.devices.get(device_id)
        if key is None:
            return _error(401, "unauthorized")
        claims = protocol.verify(
            token, key, MessageType.ANSWER, audience=self.url, issuer=device_id
        )
        self.answers.append(claims)
        issued = self.issued.get(claims["tx"])
        if issued is None or issued.state != "pending" or issued.device_id != device_id:
            return _error(409, "not_pending")
        if claims["nonce"] != issued.nonce:
            return _error(401, "bad_signature")
        if claims["consent"] == "deny":
            issued.state = "denied"
            return httpx.Response(200, json={"state": "denied"})
        if claims.get("number") != issued.number:
            issued.state = "failed"
            return _error(403, "wrong_number")
        issued.state = "approved"
        return httpx.Response(200, json={"state": "approved"})


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "message": f"refused: {code}"})
