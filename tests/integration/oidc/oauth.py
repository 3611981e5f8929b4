"""An app's side of the code flow, as HTTP calls through the test client: PKCE, following
the sign-in pages, exchanging codes, and verifying ID tokens against the published JWKS."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import PASSWORD, FakeClock
from tests.integration.web import flows

ISSUER = "http://localhost"


@dataclass
class App:
    """A registered relying party and the PKCE/nonce/state of its current request."""

    client_id: str
    secret: str | None
    redirect_uri: str = "https://portal.example.org/callback"
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def params(self, **extra: str | None) -> dict[str, str]:
        base: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        base.update(extra)
        return {k: v for k, v in base.items() if v is not None}

    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"authorization": "Basic " + base64.b64encode(raw).decode()}


def authorize(client: TestClient, app: App, **extra: str | None) -> httpx.Response:
    """GET the authorization endpoint and follow redirects that stay on Portvakt."""
    response = client.get("/oauth2/authorize", params=app.params(**extra), follow_redirects=False)
    return follow(client, response)


def follow(client: TestClient, response: httpx.Response) -> httpx.Response:
    while response.is_redirect:
        location = response.headers["location"]
        if not location.startswith("/"):
            return response  # leaving for the app
        response = client.get(location, follow_redirects=False)
    return response


def at_app(response: httpx.Response, app: App) -> dict[str, str]:
    """The query the app receives at its redirect URI (asserting we were sent there)."""
    assert response.is_redirect, (response.status_code, response.text[:300])
    location = response.headers["location"]
    assert location.startswith(app.redirect_uri + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(
    client: TestClient, clock: FakeClock, secret: str | None, *, remember: bool = False
) -> httpx.Response:
    """From the sign-in page the app sent us to: password, then TOTP when it is asked for."""
    response = follow(client, _password(client))
    if response.request.url.path == "/signin/factor":
        assert secret is not None
        clock.advance(seconds=30)
        data = {"code": flows.code_at(secret, clock), "kind": "totp"}
        data["csrf_token"] = flows.token(client)
        if remember:
            data["remember"] = "on"
        response = follow(client, client.post("/signin/factor", data=data, follow_redirects=False))
    return response


def _password(client: TestClient) -> httpx.Response:
    data = {"username": "alice", "password": PASSWORD, "csrf_token": flows.token(client)}
    return client.post("/signin", data=data, follow_redirects=False)


def exchange(client: TestClient, app: App, code: str, **extra: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "code_verifier": app.verifier,
        **extra,
    }
    return client.post("/oauth2/token", data=data, headers=app.basic())


def verify_id_token(client: TestClient, app: App, token: str, clock: FakeClock) -> dict[str, Any]:
    keyset = KeySet.import_key_set(client.get("/oauth2/jwks").json())
    decoded = jwt.decode(token, keyset, algorithms=["ES256", "RS256"])
    claims = dict(decoded.claims)
    jwt.JWTClaimsRegistry(
        now=int(clock.now().timestamp()),
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": app.client_id},
    ).validate(claims)
    return claims
