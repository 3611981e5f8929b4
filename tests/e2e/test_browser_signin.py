"""A person in a real Chromium against a real ``portvakt serve``: first sign-in with activation
of an authenticator app (the QR code is scanned from a screenshot), a second sign-in with a
code and "don't ask again", a third with the password only, and the Norwegian pages."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import ConsoleMessage, Error, Page, Response, expect

from tests.e2e import a11y
from tests.e2e.conftest import LiveServer, Person

pytestmark = pytest.mark.browser


class FormRefusedAsExpired(AssertionError):
    """A same-origin form post answered 403 "This form has expired" (CSRF check refused it)."""


# -- what a person does --------------------------------------------------------------------------


def _is_post(response: Response) -> bool:
    return response.request.method == "POST"


def submit(page: Page, button: str) -> None:
    """Click a form's submit button and let the answer load."""
    with page.expect_response(_is_post) as posted:
        page.get_by_role("button", name=button, exact=True).click()
    answer = posted.value
    if answer.status == 403 and "This form has expired" in answer.text():
        origin = answer.request.all_headers().get("origin")
        raise FormRefusedAsExpired(f"POST {answer.url} → 403, request had Origin: {origin}")
    page.wait_for_load_state()
    a11y.check(page)  # every page a form leads to


def sign_in_with_password(page: Page, server: LiveServer, person: Person) -> None:
    page.goto(f"{server.base_url}/signin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    a11y.check(page)
    page.get_by_label("Username", exact=True).fill(person.username)
    page.get_by_label("Password", exact=True).fill(person.password)
    submit(page, "Next")


def sign_out(page: Page, server: LiveServer, button: str = "Sign out") -> None:
    submit(page, button)
    expect(page).to_have_url(f"{server.base_url}/signin")


def scan_qr(page: Page, shot: Path) -> str:
    """Screenshot the QR code on the page and decode it as a phone would."""
    qr = page.locator("figure#qr svg")
    expect(qr).to_be_visible()
    qr.screenshot(path=shot)
    with Image.open(shot) as image:
        found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"expected one barcode in {shot}, found {len(found)}"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


def check_otpauth_uri(uri: str, account: str) -> pyotp.TOTP:
    """The URI an authenticator app gets: issuer Portvakt, the person's username, a secret."""
    assert uri.startswith("otpauth://totp/"), uri
    parsed = urlparse(uri)
    assert unquote(parsed.path) == f"/Portvakt:{account}", uri
    assert parse_qs(parsed.query).get("issuer") == ["Portvakt"], uri
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    assert totp.issuer == "Portvakt" and totp.name == account
    assert totp.digits == 6 and totp.interval == 30
    return totp


def activate_authenticator_app(
    page: Page, server: LiveServer, person: Person, shot: Path
) -> pyotp.TOTP:
    """From the activation page to Security info: set up, scan, type the current code."""
    expect(page).to_have_url(f"{server.base_url}/signin/activate")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step verification")
    submit(page, "Set up an authenticator app")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    totp = check_otpauth_uri(scan_qr(page, shot), person.username)
    # The key behind "Can't scan the code?" is the same secret as in the QR code.
    page.get_by_text("Can't scan the code?").click()
    expect(page.locator("code#secret")).to_be_visible()
    assert page.locator("code#secret").inner_text().replace(" ", "") == totp.secret
    page.screenshot(path=shot.with_name(f"{shot.stem}-page.png"), full_page=True)
    page.get_by_label("Enter the 6-digit code the app shows").fill(totp.now())
    submit(page, "Activate")
    expect(page).to_have_url(f"{server.base_url}/account")
    return totp


# -- the tests -----------------------------------------------------------------------------------


def test_signin_activation_remembered_device_and_norwegian(
    page: Page, live_server: LiveServer, people: dict[str, Person], screenshots: Path
) -> None:
    erika = people["erika"]
    base = live_server.base_url

    # 1. First sign-in: password, then the activation of an authenticator app.
    sign_in_with_password(page, live_server, erika)
    page.screenshot(path=screenshots / "01-activate.png", full_page=True)
    totp = activate_authenticator_app(page, live_server, erika, screenshots / "02-qr.png")
    page.screenshot(path=screenshots / "03-account-after-activation.png", full_page=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Security info")
    expect(page.locator("#username")).to_have_text("erika")
    expect(page.get_by_text("Signed in as Erika Mustermann")).to_be_visible()
    methods = page.locator("table.methods tr.method")
    expect(methods).to_have_count(1)
    expect(methods.first).to_contain_text("Authenticator app")
    expect(page.get_by_role("heading", name="Recent sign-ins")).to_be_visible()
    signins = page.locator("table.signins tr.signin")
    expect(signins.first).to_contain_text("Signed in")
    expect(page.locator("table.devices")).to_have_count(0)
    sign_out(page, live_server)

    # 2. Second sign-in: password and the code of the NEXT time step (the one used to activate
    # is burnt; the server accepts one step ahead), and "don't ask again on this device".
    sign_in_with_password(page, live_server, erika)
    expect(page).to_have_url(f"{base}/signin/factor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify your identity")
    page.get_by_label("Enter the code from your authenticator app").fill(
        totp.at(time.time() + totp.interval)
    )
    remember = page.get_by_label(re.compile(r"Don't ask again on this device"))
    remember.check()
    expect(remember).to_be_checked()
    page.screenshot(path=screenshots / "04-factor.png", full_page=True)
    submit(page, "Verify")
    expect(page).to_have_url(f"{base}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security info")
    expect(page.locator("table.devices tr.device")).to_have_count(1)
    expect(signins).to_have_count(2)
    expect(signins.first).to_contain_text("Authenticator app code")
    expect(signins.first).to_contain_text("Signed in")
    page.screenshot(path=screenshots / "05-account-remembered.png", full_page=True)
    sign_out(page, live_server)

    # 3. Third sign-in on the remembered device: the password is enough.
    sign_in_with_password(page, live_server, erika)
    expect(page).to_have_url(f"{base}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security info")
    expect(signins).to_have_count(3)
    expect(signins.first).to_contain_text("Remembered device")

    # 4. Norsk bokmål from the header, on the account page and then on the sign-in page.
    page.get_by_role("link", name="Norsk bokmål").click()
    expect(page).to_have_url(f"{base}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sikkerhetsinformasjon")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    page.screenshot(path=screenshots / "06-account-nb.png", full_page=True)
    sign_out(page, live_server, button="Logg av")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logg på")
    page.screenshot(path=screenshots / "07-signin-nb.png", full_page=True)


def test_pages_have_no_console_errors_or_csp_violations(
    page: Page, live_server: LiveServer, people: dict[str, Person], screenshots: Path
) -> None:
    ola = people["ola"]
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{page.url}: {message.text}")

    def on_page_error(error: Error) -> None:
        errors.append(f"{page.url}: uncaught {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    # Chromium logs CSP violations as console errors; the event makes sure none is missed.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )

    sign_in_with_password(page, live_server, ola)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step verification")
    assert errors == [], "on /signin or the activation page"
    activate_authenticator_app(page, live_server, ola, screenshots / "qr-ola.png")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security info")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security info")
    assert errors == [], "on the enrolment or account page"

    # The listener does hear a violation: an inline script is refused by the CSP.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.append(s); }"
    )
    deadline = time.monotonic() + 5
    while not errors and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert any("Content Security Policy" in e or "CSP violation" in e for e in errors), errors
    assert page.evaluate("() => window.__ran === undefined")
