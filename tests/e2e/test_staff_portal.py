"""The example relying party end to end: a real ``portvakt serve``, the Staff portal
(``examples/staff_portal``) as its own process, registered with ``portvakt client add``, and a
person in Chromium signing in to the portal with a password and a TOTP code at Portvakt, seeing
the verified claims, and signing out of both."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import (
    CLI_TIMEOUT,
    START_TIMEOUT,
    LiveServer,
    Person,
    _free_port,
    _portvakt,
    _server_env,
    _stop,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
KARI = Person("kari", "Kari Nordmann", "Kari sitt lange passord 2026")
KARI_EMAIL = "kari@example.org"


@dataclass(frozen=True)
class Portal:
    url: str  # http://localhost:PORT, as registered with Portvakt
    port: int
    client_id: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _cli(server: LiveServer, *args: str) -> str:
    """The real ``portvakt`` CLI against the running server's data folder."""
    done = subprocess.run(
        _portvakt(*args),
        env=_server_env(server.data_dir),
        cwd=server.data_dir.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"portvakt {args}: {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def kari_totp(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> pyotp.TOTP:
    """Kari, imported with a password and an existing TOTP seed (docs/operators/import.md)."""
    totp = pyotp.TOTP(pyotp.random_base32())
    people = tmp_path_factory.mktemp("import") / "people.csv"
    with people.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["username", "display_name", "email", "password", "totp_secret"])
        writer.writerow([KARI.username, KARI.display_name, KARI_EMAIL, KARI.password, totp.secret])
    _cli(live_server, "user", "import", str(people))
    return totp


def _portal_env(server: LiveServer, client: dict[str, object], url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "PORTVAKT_"))}
    env.update(
        PORTAL_ISSUER=server.base_url,
        PORTAL_CLIENT_ID=str(client["client_id"]),
        PORTAL_CLIENT_SECRET=str(client["client_secret"]),
        PORTAL_URL=url,
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_for_portal(proc: subprocess.Popen[bytes], portal: Portal) -> None:
    home = f"http://127.0.0.1:{portal.port}/"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the portal exited with {proc.returncode}:\n{portal.output()}")
        try:
            with urllib.request.urlopen(home, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the portal did not answer {home} in {START_TIMEOUT:.0f} s:\n{portal.output()}")


@pytest.fixture(scope="module")
def portal(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """``portvakt client add … --json``, then ``python -m examples.staff_portal`` with it."""
    port = _free_port()
    url = f"http://localhost:{port}"
    client = json.loads(
        _cli(
            live_server,
            "client",
            "add",
            "Staff portal",
            "--redirect-uri",
            f"{url}/callback",
            "--post-logout-redirect-uri",
            f"{url}/",
            "--json",
        )
    )
    assert client["name"] == "Staff portal"
    assert client["redirect_uris"] == [f"{url}/callback"]
    assert client["client_id"] and client["client_secret"]
    log = tmp_path_factory.mktemp("portal") / "portal.log"
    found = Portal(url, port, str(client["client_id"]), log)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "examples.staff_portal"],
            cwd=ROOT,
            env=_portal_env(live_server, client, url),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_portal(proc, found)
            yield found
        finally:
            _stop(proc)


def _submit(page: Page, button: str) -> None:
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def _claim(page: Page, table: str, name: str) -> object:
    """The exact JSON value the portal shows for one claim (its cell's data-json)."""
    cell = page.locator(f"table#{table} tr[data-claim='{name}'] td.value")
    expect(cell).to_have_count(1)
    raw = cell.get_attribute("data-json")
    assert raw is not None
    value: object = json.loads(raw)
    return value


def _console_errors(page: Page) -> list[str]:
    """Console errors as they happen (Chromium reports CSP refusals there, e.g. a redirect to
    the app blocked by form-action). HTTP error statuses are left out: the tests check the
    statuses they expect (the portal's error page is a 400)."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return errors


def _expect_url(page: Page, url: str | re.Pattern[str], errors: list[str]) -> None:
    try:
        expect(page).to_have_url(url, timeout=15_000)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nBrowser console errors: {errors}") from exc


def _sign_in_at_portvakt(page: Page, server: LiveServer, totp: pyotp.TOTP) -> None:
    expect(page).to_have_url(re.compile(rf"^{re.escape(server.base_url)}/signin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username", exact=True).fill(KARI.username)
    page.get_by_label("Password", exact=True).fill(KARI.password)
    _submit(page, "Next")
    expect(page).to_have_url(re.compile(rf"^{re.escape(server.base_url)}/signin/factor"))
    page.get_by_label("Enter the code from your authenticator app").fill(totp.now())
    _submit(page, "Verify")


def test_sign_in_with_password_and_totp_shows_verified_claims_then_signs_out_of_both(
    page: Page,
    live_server: LiveServer,
    portal: Portal,
    kari_totp: pyotp.TOTP,
    screenshots: Path,
) -> None:
    started = time.time()
    errors = _console_errors(page)
    page.goto(portal.url)
    page.get_by_role("link", name="Sign in with Portvakt").click()
    _sign_in_at_portvakt(page, live_server, kari_totp)

    # Back at the portal, signed in, with the ID token it verified and what userinfo said.
    _expect_url(page, f"{portal.url}/", errors)
    page.screenshot(path=screenshots / "portal-01-signed-in.png", full_page=True)
    expect(page.locator("#name")).to_have_text(KARI.display_name)
    expect(page.locator("#username")).to_have_text(KARI.username)
    assert _claim(page, "id-token", "iss") == live_server.base_url
    assert _claim(page, "id-token", "aud") in (portal.client_id, [portal.client_id])
    assert _claim(page, "id-token", "acr") == "urn:portvakt:acr:mfa"
    amr = _claim(page, "id-token", "amr")
    assert isinstance(amr, list) and {"pwd", "otp", "mfa"} <= set(amr), amr
    auth_time = _claim(page, "id-token", "auth_time")
    assert isinstance(auth_time, int) and started - 5 <= auth_time <= time.time() + 5
    assert isinstance(_claim(page, "id-token", "nonce"), str)
    assert isinstance(_claim(page, "id-token", "sid"), str)
    assert _claim(page, "userinfo", "sub") == _claim(page, "id-token", "sub")
    assert _claim(page, "userinfo", "preferred_username") == KARI.username
    assert _claim(page, "userinfo", "name") == KARI.display_name
    assert _claim(page, "userinfo", "email") == KARI_EMAIL
    how = page.locator("#how")
    expect(how).to_contain_text("two-step verification")
    expect(how).to_contain_text("a password and a one-time code")

    # Sign out: the portal forgets Kari and sends the browser through Portvakt's logout.
    page.get_by_role("button", name="Sign out").click()
    _expect_url(page, re.compile(rf"^{re.escape(portal.url)}/\?state="), errors)
    expect(page.locator("#notice")).to_have_text(
        "You are signed out of the Staff portal and of Portvakt."
    )
    page.screenshot(path=screenshots / "portal-02-signed-out.png", full_page=True)
    expect(page.locator("#name")).to_have_count(0)

    # Portvakt's session ended too: signing in again asks for the password.
    page.get_by_role("link", name="Sign in with Portvakt").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.base_url)}/signin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert errors == [], errors
    assert "Traceback" not in portal.output(), portal.output()


def test_cancelled_sign_in_and_stray_answers_get_a_clear_page_not_a_server_error(
    page: Page, live_server: LiveServer, portal: Portal
) -> None:
    # The person cancels at Portvakt: the portal gets error=access_denied and says so.
    errors = _console_errors(page)
    page.goto(portal.url)
    page.get_by_role("link", name="Sign in with Portvakt").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.base_url)}/signin"))
    with page.expect_response(lambda r: r.url.startswith(f"{portal.url}/callback?")) as answer:
        page.get_by_role("button", name="Cancel and go back to the app").click()
    _expect_url(
        page, re.compile(rf"^{re.escape(portal.url)}/callback\?.*error=access_denied"), errors
    )
    assert answer.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in did not complete")
    expect(page.locator("#error-code")).to_have_text("access_denied")
    expect(page.locator("#error-description")).not_to_be_empty()
    expect(page.get_by_role("link", name="Try again")).to_have_attribute("href", "/login")

    # An answer with a state this browser never started is refused before any token request.
    iss = urllib.parse.quote(live_server.base_url, safe="")
    stray = page.goto(f"{portal.url}/callback?code=not-ours&state=not-ours&iss={iss}")
    assert stray is not None and stray.status == 400
    expect(page.locator("#error-code")).to_have_text("mismatching_state")
    assert errors == [], errors
    assert "Traceback" not in portal.output(), portal.output()
