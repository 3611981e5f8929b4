"""``response_mode=form_post`` end to end: a tiny relying party on its own loopback port sends
Chromium to a real ``portvakt serve``, the person signs in with password and TOTP, Portvakt's
answer page posts the code to the relying party (by itself with JavaScript, by its button
without), and the relying party exchanges the code and verifies the ID token against the JWKS.
A CSP ``form-action`` that did not name the app's origin would stop the POST in the browser.
The ``moodle`` case is shaped like Moodle's auth_oidc: no PKCE (the client is registered
``--allow-without-pkce``), a nonce, and the client secret in the token request's body."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import CLI_TIMEOUT, LiveServer, Person, _portvakt, _server_env, serving

pytestmark = pytest.mark.browser

# one person per case: a TOTP code is accepted once, and the cases may run within 30 s
PEOPLE = {
    "script": Person("frida", "Frida Form", "Frida sitt lange passord 2026"),
    "no-script": Person("nils", "Nils Noscript", "Nils sitt lange passord 2026"),
    "moodle": Person("mona", "Mona Moodle", "Mona sitt lange passord 2026"),
}
SEEDS = {case: pyotp.random_base32() for case in PEOPLE}


@dataclass
class RelyingParty:
    """A confidential app that wants its answers posted: it starts the request at ``/login``
    (state, nonce and PKCE kept server-side by state) and finishes it at ``/callback``."""

    portvakt: str
    name: str = ""
    pkce: bool = True  # False: like Moodle, no PKCE, and the secret in the form body
    client_id: str = ""
    secret: str = ""
    base_url: str = ""
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # state → nonce, verifier
    received: list[dict[str, str]] = field(default_factory=list)
    signed_in: list[dict[str, Any]] = field(default_factory=list)

    @property
    def callback(self) -> str:
        return f"{self.base_url}/callback"

    def login_url(self) -> str:
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)  # RFC 7636 §4.1: 43 to 128 characters
        self.pending[state] = (nonce, verifier)
        query = {
            "response_type": "code",
            "response_mode": "form_post",
            "client_id": self.client_id,
            "redirect_uri": self.callback,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
        }
        if self.pkce:
            query |= {"code_challenge": _challenge(verifier), "code_challenge_method": "S256"}
        return f"{self.portvakt}/oauth2/authorize?{urlencode(query)}"

    def finish(self, form: dict[str, str]) -> dict[str, Any]:
        """The POST from Portvakt's page: exchange the code (client_secret_basic and PKCE, or
        client_secret_post without) and verify the ID token (JWKS signature, iss, aud, nonce)."""
        self.received.append(form)
        nonce, verifier = self.pending.pop(form.get("state", ""), ("", ""))
        data = {"grant_type": "authorization_code", "code": form["code"]}
        data["redirect_uri"] = self.callback
        if self.pkce:
            auth: tuple[str, str] | None = (self.client_id, self.secret)
            data["code_verifier"] = verifier
        else:
            auth = None
            data |= {"client_id": self.client_id, "client_secret": self.secret}
        answer = httpx.post(f"{self.portvakt}/oauth2/token", data=data, auth=auth)
        assert answer.status_code == 200, answer.text
        keyset = KeySet.import_key_set(httpx.get(f"{self.portvakt}/oauth2/jwks").json())
        token = answer.json()["id_token"]
        claims = dict(jwt.decode(token, keyset, algorithms=["ES256", "RS256"]).claims)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.portvakt},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
        self.signed_in.append(claims)
        return claims


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _handler(rp: RelyingParty) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/login":
                self._answer(404, "not found")
                return
            self.send_response(302)
            self.send_header("location", rp.login_url())
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            if self.path != "/callback" or "code" not in form:
                self._answer(400, f"no code: {json.dumps(form)}")
                return
            try:
                claims = rp.finish(form)
            except Exception as exc:  # shown on the page, so the test's failure says why
                self._answer(500, f"failed: {exc!r}")
                return
            self._answer(200, f"Signed in as {claims['preferred_username']}")

        def _answer(self, status: int, text: str) -> None:
            body = f"<!doctype html><title>RP</title><p id='rp'>{text}</p>".encode()
            self.send_response(status)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("form-post-server")
    env = _server_env(data_dir) | {"PORTVAKT_ENROLLMENT_DEADLINE": "2099-01-01"}
    rows = "username,display_name,password,totp_secret\n" + "".join(
        f"{p.username},{p.display_name},{p.password},{SEEDS[case]}\n" for case, p in PEOPLE.items()
    )
    (data_dir / "people.csv").write_text(rows)
    _cli(data_dir, env, "user", "import", str(data_dir / "people.csv"))
    with serving(data_dir, env) as live:
        yield live


def _cli(data_dir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        _portvakt(*args),
        env=env | {"PORTVAKT_LANGUAGE": "en"},
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(params=list(PEOPLE))
def case(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def relying_party(server: LiveServer, case: str) -> Iterator[RelyingParty]:
    name = f"Learning platform {secrets.token_hex(3)}"
    rp = RelyingParty(server.base_url, name=name, pkce=case != "moodle")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rp))
    rp.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    env = _server_env(server.data_dir)
    add = ["client", "add", rp.name, "--redirect-uri", rp.callback, "--json"]
    if not rp.pkce:
        add.append("--allow-without-pkce")
    created = json.loads(_cli(server.data_dir, env, *add))
    rp.client_id, rp.secret = created["client_id"], created["client_secret"]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield rp
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_form_post_sign_in_reaches_the_app_and_is_exchanged(
    browser: Browser, server: LiveServer, relying_party: RelyingParty, case: str
) -> None:
    person, seed, javascript = PEOPLE[case], SEEDS[case], case != "no-script"
    context = browser.new_context(locale="en-US", java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{relying_party.base_url}/login")
        expect(page).to_have_url(f"{server.base_url}/signin")
        page.get_by_label("Username", exact=True).fill(person.username)
        page.get_by_label("Password", exact=True).fill(person.password)
        page.get_by_role("button", name="Next", exact=True).click()
        expect(page).to_have_url(f"{server.base_url}/signin/factor")
        page.get_by_label("Enter the code from your authenticator app").fill(pyotp.TOTP(seed).now())
        page.get_by_role("button", name="Verify", exact=True).click()
        if not javascript:  # the answer page waits for the person
            expect(page).to_have_url(f"{server.base_url}/oauth2/resume")
            page.get_by_role("button", name=f"Continue to {relying_party.name}").click()
        expect(page.locator("#rp")).to_have_text(f"Signed in as {person.username}")
    finally:
        context.close()

    assert page.url == relying_party.callback
    (form,) = relying_party.received
    assert set(form) == {"code", "state", "iss"} and form["iss"] == server.base_url
    (claims,) = relying_party.signed_in
    assert claims["preferred_username"] == person.username
    assert claims["acr"] == "urn:portvakt:acr:mfa"
