"""OpenID Connect end to end with a real client library: Authlib's OAuth2Client (httpx) builds
the authorization request with PKCE S256, a person signs in in Chromium on a real
``portvakt serve`` with password and a second factor (TOTP; push approved in the real
Portvakt Authenticator), Authlib exchanges the code, and the ID token is verified against the
JWKS the server publishes. Then refresh, userinfo and revocation through the same client."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import (
    CLI_TIMEOUT,
    LiveServer,
    Person,
    _add_user,
    _free_port,
    _portvakt,
    _server_env,
    serving,
)
from tests.e2e.test_push_app import App, add_device, sign_in_password

pytestmark = pytest.mark.browser

TOVE = Person("tove", "Tove Totp", "Tove sitt lange passord 2026")
PAL = Person("paal", "Pål Push", "Pål sitt lange passord 2026")
SEED = pyotp.random_base32()
CALLBACK_PORT = _free_port()  # nothing listens: Chromium's request to it is intercepted
CALLBACK = f"http://127.0.0.1:{CALLBACK_PORT}/callback"


def _cli(server_dir: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        _portvakt(*args),
        input=stdin,
        env=_server_env(server_dir) | {"PORTVAKT_LANGUAGE": "en"},
        cwd=server_dir,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def oidc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("oidc-server")
    env = _server_env(data_dir) | {"PORTVAKT_ENROLLMENT_DEADLINE": "2099-01-01"}
    rows = f"username,display_name,password,totp_secret\n{TOVE.username},{TOVE.display_name},"
    rows += f"{TOVE.password},{SEED}\n"
    (data_dir / "people.csv").write_text(rows)
    _cli(data_dir, "user", "import", str(data_dir / "people.csv"))
    _add_user(PAL, env, data_dir)
    with serving(data_dir, env) as server:
        yield server


class RelyingParty:
    """An app registered with ``portvakt client add`` and driven by Authlib's client."""

    def __init__(self, server: LiveServer, name: str) -> None:
        created = json.loads(
            _cli(server.data_dir, "client", "add", name, "--redirect-uri", CALLBACK, "--json")
        )
        self.meta: dict[str, Any] = httpx.get(
            f"{server.base_url}/.well-known/openid-configuration"
        ).json()
        assert self.meta["issuer"] == server.base_url
        self.client = OAuth2Client(
            client_id=created["client_id"],
            client_secret=created["client_secret"],
            scope="openid profile",
            redirect_uri=CALLBACK,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )
        self.verifier = secrets.token_urlsafe(48)
        self.nonce = secrets.token_urlsafe(16)

    def authorization_url(self) -> str:
        url, _state = self.client.create_authorization_url(
            self.meta["authorization_endpoint"], code_verifier=self.verifier, nonce=self.nonce
        )
        return str(url)

    def catch_callback(self, page: Page) -> list[str]:
        caught: list[str] = []

        def handle(route: Route) -> None:
            caught.append(route.request.url)
            route.fulfill(status=200, content_type="text/plain", body="signed in")

        page.route(f"{CALLBACK}**", handle)
        return caught

    def finish(self, callback_url: str) -> dict[str, Any]:
        token: dict[str, Any] = self.client.fetch_token(
            self.meta["token_endpoint"],
            authorization_response=callback_url,
            code_verifier=self.verifier,
        )
        return token

    def verify(self, id_token: str, *, refreshed: bool = False) -> dict[str, Any]:
        """Signature against the published JWKS, then iss, aud, exp and (for the ID token
        of the sign-in itself; a refreshed one carries none) the nonce."""
        keyset = KeySet.import_key_set(httpx.get(self.meta["jwks_uri"]).json())
        claims = dict(jwt.decode(id_token, keyset, algorithms=["ES256", "RS256"]).claims)
        expected: dict[str, Any] = {
            "iss": {"essential": True, "value": self.meta["issuer"]},
            "aud": {"essential": True, "value": self.client.client_id},
        }
        if not refreshed:
            expected["nonce"] = {"essential": True, "value": self.nonce}
        jwt.JWTClaimsRegistry(**expected).validate(claims)
        assert refreshed or claims["nonce"] == self.nonce
        return claims


def _password(page: Page, person: Person) -> None:
    page.get_by_label("Username", exact=True).fill(person.username)
    page.get_by_label("Password", exact=True).fill(person.password)
    page.get_by_role("button", name="Next", exact=True).click()


def test_totp_sign_in_through_authlib(page: Page, oidc_server: LiveServer) -> None:
    rp = RelyingParty(oidc_server, "Mail")
    caught = rp.catch_callback(page)
    page.goto(rp.authorization_url())
    expect(page).to_have_url(f"{oidc_server.base_url}/signin")
    _password(page, TOVE)
    expect(page).to_have_url(f"{oidc_server.base_url}/signin/factor")
    page.get_by_label("Enter the code from your authenticator app").fill(pyotp.TOTP(SEED).now())
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.locator("body")).to_have_text("signed in", timeout=10_000)
    assert len(caught) == 1
    assert parse_qs(urlsplit(caught[0]).query)["iss"] == [oidc_server.base_url]  # RFC 9207

    token = rp.finish(caught[0])
    claims = rp.verify(token["id_token"])
    assert claims["preferred_username"] == "tove" and claims["name"] == TOVE.display_name
    assert claims["acr"] == "urn:portvakt:acr:mfa" and claims["amr"] == ["pwd", "otp", "mfa"]
    assert abs(claims["auth_time"] - time.time()) < 60
    info = rp.client.get(rp.meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"]

    refreshed = rp.client.refresh_token(rp.meta["token_endpoint"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = rp.verify(refreshed["id_token"], refreshed=True)
    assert again["sub"] == claims["sub"] and again["auth_time"] == claims["auth_time"]
    revoked = rp.client.revoke_token(
        rp.meta["revocation_endpoint"], token=refreshed["refresh_token"]
    )
    assert revoked.status_code == 200
    after = rp.client.get(rp.meta["userinfo_endpoint"])
    assert after.status_code == 401  # revoking the refresh token ended the whole grant
    rp.client.close()


def test_push_sign_in_through_authlib(page: Page, oidc_server: LiveServer, tmp_path: Path) -> None:
    phone = App(tmp_path / "paal-phone")
    sign_in_password(page, oidc_server, PAL)
    page.get_by_role("button", name="Skip for now", exact=True).click()
    add_device(page, oidc_server, phone, tmp_path, "Pål's phone")
    page.get_by_role("button", name="Sign out", exact=True).click()

    rp = RelyingParty(oidc_server, "Learning platform")
    caught = rp.catch_callback(page)
    page.goto(rp.authorization_url())
    _password(page, PAL)
    # The phone is the only (so the default) way in: the request goes out at once.
    expect(page).to_have_url(re.compile(rf"{re.escape(oidc_server.base_url)}/signin/push/wait"))
    number = page.locator("#number")
    expect(number).to_be_visible()
    (request,) = phone.pending()
    assert request["context"]["account"] == "paal"
    phone.run("approve", "--number", number.inner_text().strip())
    expect(page.locator("body")).to_have_text("signed in", timeout=10_000)

    claims = rp.verify(rp.finish(caught[0])["id_token"])
    assert claims["preferred_username"] == "paal"
    assert claims["acr"] == "urn:portvakt:acr:mfa" and claims["amr"] == ["pwd", "swk", "mfa"]
    rp.client.close()
