"""Passwordless sign-in with a passkey in a real Chromium against a real ``portvakt serve`` with
``PORTVAKT_PASSWORDLESS=true``: the sign-in page keeps the password form, marks the username
field for passkey autofill (conditional mediation) and shows "Sign in with a passkey"; a passkey
added on Security info then signs the person in without their password, by the button and by
autofill as the page opens. Every page visited passes axe-core and fits 390 px."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e import a11y
from tests.e2e.conftest import LiveServer, Person, _add_user, _server_env, serving
from tests.e2e.test_browser_signin import activate_authenticator_app, sign_in_with_password
from tests.e2e.test_webauthn import add_key, authenticator

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, people: dict[str, Person]
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("e2e-passkey")
    env = _server_env(root / "data")
    env["PORTVAKT_PASSWORDLESS"] = "true"
    for person in people.values():
        _add_user(person, env, root)
    with serving(root / "data", env, cwd=root) as server:
        yield server


def test_a_passkey_signs_in_without_the_password(
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
    page.locator(".card", has_text="Security key or passkey").get_by_role("link").click()
    add_key(page, "Phone passkey")
    expect(page).to_have_url(f"{base}/account")
    # A passkey that cannot verify its person (no fingerprint yet) signs no one in: the page
    # stays, with the password form and the button.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": key, "isUserVerified": False})
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{base}/signin")
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    username = page.get_by_label("Username", exact=True)
    assert username.get_attribute("autocomplete") == "username webauthn"
    assert page.evaluate("PublicKeyCredential.isConditionalMediationAvailable()") is True
    button = page.get_by_role("button", name="Sign in with a passkey")
    expect(button).to_be_visible()
    a11y.check(page)
    button.click()
    expect(page.locator("#ceremony-status")).to_have_text(
        "The browser did not finish. Try again, or sign in with your password."
    )
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": key, "isUserVerified": True})
    button.click()
    expect(page).to_have_url(f"{base}/account")
    a11y.check(page)
    expect(page.locator("table.signins tr.signin").first).to_contain_text("Security key or passkey")

    # Autofill: the conditional request started as the page opened; choosing the passkey
    # (the virtual authenticator picks it by itself) signs in with no click at all.
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{base}/account", timeout=8000)
    passkey_rows = page.locator("table.signins tr.signin", has_text="Security key or passkey")
    expect(passkey_rows).to_have_count(2)  # the button's sign-in, then autofill's

    # The new pages in Norwegian Bokmål: a key's start page, and the sign-in page's offer.
    page.get_by_role("link", name="Norsk bokmål").click()
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    page.goto(f"{base}/account/methods/add/webauthn")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Legg til en sikkerhetsnøkkel eller passnøkkel"
    )
    a11y.check(page)
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": key, "isUserVerified": False})
    page.goto(f"{base}/signin?login=1")
    expect(page.get_by_role("button", name="Logg på med en passnøkkel")).to_be_visible()
    a11y.check(page)
