"""A minimal protocol client for server tests (the real app is tested end to end elsewhere):
it speaks docs/protocol.md through the test client, with keys it generates itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from httpx2 import Response
from joserfc.jwk import ECKey

from portvakt import protocol
from portvakt.ports import Clock
from tests.conftest import FakeClock
from tests.integration.web import flows


@dataclass
class SimApp:
    client: httpx2.Client
    clock: Clock
    key: ECKey = field(default_factory=protocol.generate_key)
    device_id: str = ""
    server: str = ""
    server_key: ECKey | None = None

    def register(self, uri: str, *, name: str = "Test phone") -> Response:
        activation = protocol.Activation.parse(uri)
        self.server = activation.server
        token = protocol.sign(
            self.key,
            protocol.MessageType.REGISTER,
            {
                "iss": protocol.fingerprint(self.key),
                "aud": activation.server,
                "code": activation.code,
                "jwk": protocol.public_jwk(self.key),
                "device": {"name": name, "platform": "test", "app": "simapp/1"},
                "capabilities": ["number_type", "uv"],
            },
            lifetime=60,
            now=self.clock.now().timestamp(),
        )
        answer = self.client.post("/api/app/v1/register", json={"token": token})
        if answer.status_code == 201:
            body = answer.json()
            self.device_id = body["device_id"]
            self.server_key = protocol.import_public(body["server_key"])
            assert protocol.fingerprint(self.server_key) == activation.fingerprint
        return answer

    def auth_header(self) -> dict[str, str]:
        nonce = self.client.get("/api/app/v1/nonce").json()["nonce"]
        token = protocol.sign(
            self.key,
            protocol.MessageType.AUTH,
            {"iss": self.device_id, "aud": self.server, "nonce": nonce},
            lifetime=60,
            now=self.clock.now().timestamp(),
        )
        return {"authorization": f"{protocol.AUTH_SCHEME} {token}"}

    def challenges(self) -> list[dict[str, Any]]:
        answer = self.client.get("/api/app/v1/challenges", headers=self.auth_header())
        assert answer.status_code == 200, answer.text
        assert self.server_key is not None
        return [
            protocol.verify(
                t,
                self.server_key,
                protocol.MessageType.CHALLENGE,
                audience=self.device_id,
                issuer=self.server,
                now=self.clock.now().timestamp(),
            )
            for t in answer.json()["challenges"]
        ]

    def answer_token(self, challenge: dict[str, Any], **claims: Any) -> str:
        return protocol.sign(
            self.key,
            protocol.MessageType.ANSWER,
            {
                "iss": self.device_id,
                "aud": self.server,
                "tx": challenge["tx"],
                "nonce": challenge["nonce"],
                **claims,
            },
            lifetime=60,
            now=self.clock.now().timestamp(),
        )

    def approve(self, challenge: dict[str, Any], number: str, *, uv: bool = False) -> Response:
        token = self.answer_token(challenge, consent="approve", number=number, uv=uv)
        return self.client.post("/api/app/v1/answers", json={"token": token})

    def deny(self, challenge: dict[str, Any], reason: str = "cancelled") -> Response:
        token = self.answer_token(challenge, consent="deny", reason=reason)
        return self.client.post("/api/app/v1/answers", json={"token": token})


def number_on(html: str) -> str:
    found = re.search(r'id="number"[^>]*>(\d+)<', html)
    assert found is not None, "page shows no number"
    return found.group(1)


def activation_uri(html: str) -> str:
    found = re.search(r'id="activation-uri">([^<]+)<', html)
    assert found is not None, "page shows no activation URI"
    return found.group(1).replace("&amp;", "&")


def add_push_device(
    client: TestClient, clock: FakeClock, *, name: str = "Test phone", uv: bool = False
) -> SimApp:
    """On Security info (signed in, fresh factor): add a device and pass its test approval."""
    page = client.post(
        "/account/methods/add", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    assert page.status_code == 200 and page.url.path.endswith("/push"), page.text
    app = SimApp(client, clock)
    assert app.register(activation_uri(page.text), name=name).status_code == 201
    waiting = client.get(page.url.path)
    number = number_on(waiting.text)
    (test,) = app.challenges()
    assert test["purpose"] == "activation"
    assert app.approve(test, number, uv=uv).json() == {"state": "approved"}
    done = client.get(page.url.path)
    assert done.url.path == "/account"
    return app
