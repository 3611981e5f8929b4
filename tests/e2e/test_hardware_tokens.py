"""Hardware tokens in a real Chromium against a real ``portvakt serve``: the operator imports
YubiKeys with the CLI, a person claims one with a touch as their first method at activation
and signs in with the next touch (a 44-character code); every page passes axe-core (WCAG 2.1
AA) and fits 390 px."""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import a11y
from tests.e2e.conftest import CLI_TIMEOUT, LiveServer, Person, _portvakt, _server_env
from tests.e2e.test_browser_signin import sign_in_with_password, sign_out, submit
from tests.integration.tokens.helpers import PUBLIC, YUBICO_LOG, touch

pytestmark = pytest.mark.browser


def _import_keys(server: LiveServer) -> None:
    log = server.data_dir.parent / "yubikeys.csv"
    log.write_text(YUBICO_LOG)
    done = subprocess.run(
        _portvakt("token", "import-yubico", str(log)),
        env=_server_env(server.data_dir),
        cwd=server.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_yubikey_claimed_at_activation_signs_in_with_a_touch(
    page: Page, live_server: LiveServer, people: dict[str, Person]
) -> None:
    _import_keys(live_server)
    erika = people["erika"]
    base = live_server.base_url
    sign_in_with_password(page, live_server, erika)
    expect(page).to_have_url(f"{base}/signin/activate")
    page.get_by_role("link", name="Add a hardware token you were given").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a hardware token you were given")
    a11y.check(page)
    page.get_by_label("Code", exact=True).fill(touch(1, 0)[:-2])
    submit(page, "Add token")
    expect(page.locator("body")).to_contain_text("could not be added")
    page.get_by_label("Code", exact=True).fill(touch(1, 0))
    submit(page, "Add token")
    expect(page).to_have_url(f"{base}/account")
    expect(page.locator("table.methods")).to_contain_text("YubiKey")
    expect(page.locator("table.methods")).to_contain_text(PUBLIC)
    sign_out(page, live_server)

    sign_in_with_password(page, live_server, erika)
    expect(page).to_have_url(f"{base}/signin/factor")
    page.get_by_label("Put your YubiKey in and touch it").fill(touch(1, 1))
    submit(page, "Verify")
    expect(page).to_have_url(f"{base}/account")
