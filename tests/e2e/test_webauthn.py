"""Security keys and passkeys in a real Chromium against a real ``portvakt serve``, through the
DevTools virtual authenticator (../shared/e2e/RECIPE.md §3): a security key added at first
activation signs in with one touch (the default way in opens the ceremony by itself); a
passkey with user verification added on Security info signs in after a failed verification;
every page visited passes axe-core (WCAG 2.1 AA) and fits 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e import a11y
from tests.e2e.conftest import LiveServer, Person
from tests.e2e.test_browser_signin import (
    activate_authenticator_app,
    sign_in_with_password,
    sign_out,
    submit,
)

pytestmark = pytest.mark.browser


def authenticator(context: BrowserContext, page: Page, **options: Any) -> tuple[Any, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    found = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "ctap2Version": "ctap2_1",
                "automaticPresenceSimulation": True,
                **options,
            }
        },
    )
    return cdp, found["authenticatorId"]


def add_key(page: Page, name: str) -> None:
    """From a kind's start page: name the key, then let the browser make it."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a security key or passkey")
    a11y.check(page)
    page.get_by_label("Name").fill(name)
    submit(page, "Continue")
    expect(page.get_by_role("button", name="Use the key")).to_be_visible()
    a11y.check(page)
    page.get_by_role("button", name="Use the key").click()  # the ceremony posts by itself


def test_a_security_key_added_at_activation_signs_in_with_one_touch(
    context: BrowserContext, page: Page, live_server: LiveServer, people: dict[str, Person]
) -> None:
    erika = people["erika"]
    base = live_server.base_url
    cdp, key = authenticator(
        context, page, transport="usb", hasResidentKey=False, hasUserVerification=False
    )
    sign_in_with_password(page, live_server, erika)
    expect(page).to_have_url(f"{base}/signin/activate")
    page.get_by_role("link", name="Add a security key or passkey").click()
    expect(page).to_have_url(f"{base}/signin/activate/start/webauthn")
    add_key(page, "Blue YubiKey")
    expect(page).to_have_url(f"{base}/account")
    row = page.locator("table.methods tr.method", has_text="Blue YubiKey")
    expect(row).to_contain_text("Security key or passkey")
    expect(row).to_contain_text("usb")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": key})["credentials"]
    assert len(stored) == 1 and stored[0]["rpId"] == "localhost"
    sign_out(page, live_server)

    # The key is the default way in: the ceremony starts as the page opens, one touch.
    page.goto(f"{base}/signin")
    page.get_by_label("Username", exact=True).fill(erika.username)
    page.get_by_label("Password", exact=True).fill(erika.password)
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(f"{base}/account")
    a11y.check(page)
    expect(page.locator("table.signins tr.signin").first).to_contain_text("Security key or passkey")
    after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": key})["credentials"]
    assert after[0]["signCount"] > stored[0]["signCount"]


def test_a_passkey_with_user_verification_signs_in_after_a_failed_try(
    context: BrowserContext, page: Page, live_server: LiveServer, people: dict[str, Person]
) -> None:
    ola = people["ola"]
    base = live_server.base_url
    cdp, key = authenticator(
        context,
        page,
        transport="internal",
        hasResidentKey=True,
        hasUserVerification=True,
        isUserVerified=True,
    )
    sign_in_with_password(page, live_server, ola)
    activate_authenticator_app(page, live_server, ola, live_server.data_dir / "ola-qr.png")
    page.get_by_role("link", name="Add sign-in method").click()
    a11y.check(page)
    card = page.locator(".card", has_text="Security key or passkey")
    card.get_by_role("link", name="Add").click()
    expect(page).to_have_url(f"{base}/account/methods/add/webauthn")
    add_key(page, "Work laptop")
    expect(page).to_have_url(f"{base}/account")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": key})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"] is True
    sign_out(page, live_server)

    sign_in_with_password(page, live_server, ola)
    expect(page).to_have_url(f"{base}/signin/factor")  # the app stays the default
    page.get_by_role("link", name="Sign in another way").click()
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": key, "isUserVerified": False})
    page.get_by_role("button", name="Use a security key or passkey").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/signin/webauthn/wait\?tx="))
    status = page.locator("#ceremony-status")
    expect(status).to_have_text("The browser did not finish. Try again, or sign in another way.")
    a11y.check(page)  # the waiting page, with its message
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": key, "isUserVerified": True})
    page.get_by_label("Don't ask again on this device for 20 days").check()
    page.get_by_role("button", name="Use the key").click()
    expect(page).to_have_url(f"{base}/account")
    a11y.check(page)
