"""A temporary access pass in a real Chromium against a real ``portvakt serve``: the helpdesk
issues it with ``portvakt user tap``, the person signs in with it and lands on adding a method,
adds an authenticator app, is asked to sign in again, and does so with the app; every page
visited passes axe-core (WCAG 2.1 AA) and fits 390 px."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import a11y
from tests.e2e.conftest import CLI_TIMEOUT, LiveServer, Person, _portvakt, _server_env
from tests.e2e.test_browser_signin import (
    check_otpauth_uri,
    scan_qr,
    sign_in_with_password,
    sign_out,
    submit,
)

pytestmark = pytest.mark.browser


def _issue(server: LiveServer, username: str) -> str:
    done = subprocess.run(
        _portvakt("user", "tap", username, "--json"),
        env=_server_env(server.data_dir),
        cwd=server.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    value: str = json.loads(done.stdout)["pass"]
    return value


def test_a_pass_signs_in_to_add_an_authenticator_app(
    page: Page, live_server: LiveServer, people: dict[str, Person], screenshots: Path
) -> None:
    ola = people["ola"]
    base = live_server.base_url
    value = _issue(live_server, ola.username)

    sign_in_with_password(page, live_server, ola)
    expect(page).to_have_url(f"{base}/signin/factor")  # not the activation page with its skip
    a11y.check(page)
    page.get_by_label("Enter the temporary access pass from your helpdesk").fill(value)
    submit(page, "Use temporary access pass")
    expect(page).to_have_url(f"{base}/account/methods/add")
    expect(page.locator("#restricted")).to_be_visible()
    a11y.check(page)
    page.goto(f"{base}/account")  # Security info is not for a pass session
    expect(page).to_have_url(f"{base}/account/methods/add")

    page.locator(".card", has_text="Authenticator app").get_by_role("button", name="Add").click()
    page.wait_for_load_state()
    a11y.check(page)
    totp = check_otpauth_uri(scan_qr(page, screenshots / "tap-qr.png"), ola.username)
    page.get_by_label("Enter the 6-digit code the app shows").fill(totp.now())
    submit(page, "Activate")
    expect(page.get_by_role("status")).to_contain_text("Sign in again with it")
    page.screenshot(path=screenshots / "tap-added.png", full_page=True)

    page.get_by_label("Password", exact=True).fill(ola.password)
    submit(page, "Next")
    expect(page).to_have_url(f"{base}/signin/factor")
    page.get_by_label("Enter the code from your authenticator app").fill(
        totp.at(time.time() + totp.interval)
    )
    submit(page, "Verify")
    expect(page).to_have_url(f"{base}/account")
    row = page.locator("table.methods tr.method", has_text="Temporary access pass")
    expect(row).to_contain_text("0 uses left")
    a11y.check(page)
    sign_out(page, live_server)
