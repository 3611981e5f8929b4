"""Recovery codes in a real Chromium against a real ``portvakt serve``: made on Security info,
downloaded as a file, confirmed, then used to sign in on the second-factor page; every page
visited passes axe-core (WCAG 2.1 AA) and fits 390 px."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import a11y
from tests.e2e.conftest import LiveServer, Person
from tests.e2e.test_browser_signin import (
    activate_authenticator_app,
    sign_in_with_password,
    sign_out,
    submit,
)

pytestmark = pytest.mark.browser


def test_recovery_codes_are_saved_confirmed_and_sign_in_once(
    page: Page, live_server: LiveServer, people: dict[str, Person], screenshots: Path
) -> None:
    erika = people["erika"]
    base = live_server.base_url
    sign_in_with_password(page, live_server, erika)
    a11y.check(page)  # the activation page
    totp = activate_authenticator_app(page, live_server, erika, screenshots / "rc-qr.png")
    a11y.check(page)  # Security info

    page.get_by_role("link", name="Add sign-in method").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a sign-in method")
    a11y.check(page)
    page.locator(".card", has_text="Recovery codes").get_by_role("button", name="Add").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown by its script
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download").click()
    saved = Path(downloading.value.path()).read_text()
    assert downloading.value.suggested_filename == "recovery-codes.txt"
    assert all(code in saved for code in codes) and "erika" in saved
    page.screenshot(path=screenshots / "rc-codes.png", full_page=True)
    a11y.check(page)
    page.get_by_label("To show you saved them, enter one of the codes").fill(codes[0])
    submit(page, "Activate")
    expect(page).to_have_url(f"{base}/account")
    row = page.locator("table.methods tr.method", has_text="Recovery codes")
    expect(row).to_contain_text("10 codes left")
    a11y.check(page)
    sign_out(page, live_server)

    sign_in_with_password(page, live_server, erika)
    expect(page).to_have_url(f"{base}/signin/factor")
    expect(page.locator("#who")).to_have_text("erika")
    a11y.check(page)  # the default way in, the authenticator app
    page.get_by_role("link", name="Sign in another way").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Sign in another way")
    a11y.check(page)  # every way in
    page.get_by_label("Enter one of your recovery codes").fill(codes[1].upper())
    submit(page, "Use recovery code")
    expect(page).to_have_url(f"{base}/account")
    expect(row).to_contain_text("9 codes left")
    expect(page.locator("table.signins tr.signin").first).to_contain_text("Recovery code")
    sign_out(page, live_server)

    # The authenticator app still works, and the used code does not.
    sign_in_with_password(page, live_server, erika)
    page.goto(f"{base}/signin/factor?other=1")
    page.get_by_label("Enter one of your recovery codes").fill(codes[1])
    submit(page, "Use recovery code")
    expect(page).to_have_url(f"{base}/signin/factor")
    expect(page.get_by_label("Enter one of your recovery codes")).to_be_visible()  # kept open
    a11y.check(page)  # the page with its error message
    page.get_by_role("link", name="Sign in another way").click()
    page.get_by_label("Enter the code from your authenticator app").fill(
        totp.at(time.time() + totp.interval)
    )
    submit(page, "Verify")
    expect(page).to_have_url(f"{base}/account")
