"""Steps a person takes in the browser, as HTTP calls with a cookie-keeping client."""

from __future__ import annotations

import re

import httpx2 as httpx
from fastapi.testclient import TestClient

from portvakt.crypto import otp
from tests.conftest import PASSWORD, FakeClock, csrf_of


def token(client: TestClient) -> str:
    return csrf_of(client.get("/signin").text)


def post_password(
    client: TestClient, username: str = "alice", password: str = PASSWORD
) -> httpx.Response:
    return client.post(
        "/signin", data={"username": username, "password": password, "csrf_token": token(client)}
    )


def code_at(secret: str, clock: FakeClock, offset_seconds: int = 0) -> str:
    moment = clock.now().timestamp() + offset_seconds
    return otp.totp(otp.b32decode(secret), moment)


def secret_on_page(html: str) -> str:
    found = re.search(r'id="secret">([^<]+)<', html)
    assert found is not None, "enrolment page shows no secret"
    return found.group(1).replace(" ", "")


def activate_totp(client: TestClient, clock: FakeClock) -> str:
    """From the activation page: add an authenticator app and confirm it. Returns the seed."""
    page = client.post("/signin/activate/begin", data={"kind": "totp", "csrf_token": token(client)})
    assert page.status_code == 200, page.text
    secret = secret_on_page(page.text)
    uri = re.search(r"otpauth://[^\"<]+", client.get("/signin/activate/confirm").text)
    assert uri is None or "secret" in uri.group(0)
    done = client.post(
        "/signin/activate/confirm",
        data={"code": code_at(secret, clock), "csrf_token": token(client)},
    )
    assert done.status_code == 200 and done.url.path == "/account", done.text
    return secret


def submit_code(client: TestClient, code: str, *, remember: bool = False) -> httpx.Response:
    data = {"code": code, "kind": "totp", "csrf_token": token(client)}
    if remember:
        data["remember"] = "on"
    return client.post("/signin/factor", data=data)


def sign_out(client: TestClient) -> httpx.Response:
    return client.post("/signout", data={"csrf_token": token(client)})


def enrolled_user(client: TestClient, clock: FakeClock) -> str:
    """alice signs in for the first time, activates TOTP, signs out; returns her seed."""
    assert post_password(client).url.path == "/signin/activate"
    secret = activate_totp(client, clock)
    sign_out(client)
    clock.advance(seconds=30)
    return secret


def cookie(client: TestClient, name: str) -> str | None:
    """The value the server last set for ``name`` (None if absent)."""
    values = [c.value for c in client.cookies.jar if c.name == name]
    return values[-1] if values else None
