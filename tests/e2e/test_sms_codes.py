"""SMS codes in a real Chromium against a real ``portvakt serve`` with the file gateway: a
number an operator registered is offered at first activation and confirmed with the code the
file received, then a sign-in with a new code; every page visited passes axe-core (WCAG 2.1
AA) and fits 390 px."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import a11y
from tests.e2e.conftest import CLI_TIMEOUT, LiveServer, Person, _portvakt, _server_env, serving
from tests.e2e.test_browser_signin import sign_in_with_password, sign_out, submit

pytestmark = pytest.mark.browser

KARI = Person("kari", "Kari Nordmann", "Kari sitt lange passord 2026")
PHONE = "+4791234567"


@pytest.fixture(scope="module")
def sms_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-sms") / "sms.jsonl"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, sms_file: Path) -> Iterator[LiveServer]:
    """``portvakt serve`` sending texts to ``sms_file``; kari has a pre-registered number."""
    root = tmp_path_factory.mktemp("e2e-sms-server")
    env = _server_env(root / "data")
    env["PORTVAKT_SMS_GATEWAY"] = "file"
    env["PORTVAKT_SMS_FILE"] = str(sms_file)
    added = subprocess.run(
        _portvakt("user", "add", KARI.username, "--phone", "+47 912 34 567", "--password-stdin"),
        input=KARI.password + "\n",
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    with serving(root / "data", env, cwd=root) as server:
        yield server


def last_code(sms_file: Path, count: int) -> str:
    """The code of the ``count``-th text, once the server's queue has written it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = sms_file.read_text().splitlines() if sms_file.exists() else []
        if len(lines) >= count:
            text = json.loads(lines[count - 1])
            assert text["to"] == PHONE
            found = re.search(r"#(\d{6})$", text["text"])
            assert found is not None
            return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"text {count} never arrived")


def test_a_phone_is_confirmed_at_activation_and_signs_in(
    page: Page, live_server: LiveServer, sms_file: Path
) -> None:
    base = live_server.base_url
    sign_in_with_password(page, live_server, KARI)
    expect(page).to_have_url(f"{base}/signin/activate")
    a11y.check(page)
    page.locator(".card", has_text="Text message (SMS)").get_by_role(
        "link", name="Get codes by text message"
    ).click()
    page.wait_for_load_state()
    expect(page.get_by_label("Mobile phone number")).to_have_value(PHONE)
    a11y.check(page)  # the start page
    submit(page, "Send a code")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your phone number")
    expect(page.get_by_text("We sent a code to •••• 67.")).to_be_visible()
    code = page.get_by_label("Enter the 6-digit code from the text message")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    code.fill(last_code(sms_file, 1))
    submit(page, "Confirm")
    expect(page).to_have_url(f"{base}/account")
    expect(page.locator("table.methods tr.method", has_text="Text message")).to_contain_text(
        "•••• 67"
    )
    sign_out(page, live_server)

    sign_in_with_password(page, live_server, KARI)  # the default way in sends a code at once
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Enter the code from the text message"
    )
    page.get_by_label("6-digit code").fill(
        "000000" if last_code(sms_file, 2) != "000000" else "111111"
    )
    submit(page, "Verify")  # a wrong code: the page again, saying so
    expect(page.locator("#error")).to_be_visible()
    page.get_by_label("6-digit code").fill(last_code(sms_file, 2))
    submit(page, "Verify")
    expect(page).to_have_url(f"{base}/account")
    a11y.check(page)
