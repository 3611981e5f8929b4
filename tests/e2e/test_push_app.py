"""Push approval end to end: a real ``portvakt serve``, the real Portvakt Authenticator as a
separate process (its own key store), and a person in Chromium. The QR code is read off the
page by the app itself (``portvakt-authenticator add screenshot.png``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import a11y
from tests.e2e.conftest import (
    CLI_TIMEOUT,
    LiveServer,
    Person,
    _add_user,
    _portvakt,
    _server_env,
    serving,
)

pytestmark = pytest.mark.browser

PIA = Person("pia", "Pia Push", "Pia sitt passord for push 2026")
PER = Person("per", "Per Push", "Per sitt passord for push 2026")


@dataclass(frozen=True)
class App:
    """One installation of the Portvakt Authenticator (one key store)."""

    home: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
        env.update(PORTVAKT_AUTHENTICATOR_HOME=str(self.home), PORTVAKT_LANGUAGE="en")
        done = subprocess.run(
            [sys.executable, "-m", "portvakt_authenticator", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if check:
            assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def pending(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = json.loads(self.run("pending", "--json").stdout)[
            "requests"
        ]
        return requests


@pytest.fixture(scope="module")
def push_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server where people may skip activation (so they can add push first)."""
    data_dir = tmp_path_factory.mktemp("push-server")
    env = _server_env(data_dir) | {"PORTVAKT_ENROLLMENT_DEADLINE": "2099-01-01"}
    for person in (PIA, PER):
        _add_user(person, env, data_dir)
    with serving(data_dir, env) as server:
        yield server


def _submit(page: Page, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    a11y.check(page)  # every page a form leads to


def sign_in_password(page: Page, server: LiveServer, person: Person) -> None:
    page.goto(f"{server.base_url}/signin")
    page.get_by_label("Username", exact=True).fill(person.username)
    page.get_by_label("Password", exact=True).fill(person.password)
    _submit(page, "Next")


def add_device(page: Page, server: LiveServer, app: App, shots: Path, name: str) -> None:
    """Security info → add Portvakt Authenticator → the app scans the QR → test approval."""
    page.goto(f"{server.base_url}/account/methods/add")
    page.locator("form", has=page.locator("input[value=push]")).get_by_role("button").click()
    page.wait_for_load_state()
    a11y.check(page)  # the activation QR
    shot = shots / f"qr-{app.home.name}.png"
    page.locator("figure#qr svg").screenshot(path=shot)
    added = app.run("add", str(shot), "--device-name", name)
    assert "Registered with" in added.stdout, added.stdout + added.stderr
    number = page.locator("#number")
    expect(number).to_be_visible(timeout=10_000)  # the page reloads by itself
    app.run("approve", "--number", number.inner_text().strip())
    expect(page).to_have_url(f"{server.base_url}/account", timeout=10_000)
    expect(page.locator("table.methods")).to_contain_text(name)


def start_push(page: Page, server: LiveServer, person: Person) -> str:
    """The password, then the request the default way in (the app) sends at once."""
    sign_in_password(page, server, person)
    expect(page).to_have_url(re.compile(rf"{re.escape(server.base_url)}/signin/push/wait\?tx="))
    number = page.locator("#number")
    expect(number).to_be_visible()
    return number.inner_text().strip()


def sign_out(page: Page) -> None:
    _submit(page, "Sign out")


def test_activate_then_approve_moves_the_browser_on_by_itself(
    page: Page, push_server: LiveServer, tmp_path: Path
) -> None:
    app = App(tmp_path / "pia-phone")
    sign_in_password(page, push_server, PIA)
    _submit(page, "Skip for now")
    add_device(page, push_server, app, tmp_path, "Pia's phone")
    sign_out(page)

    number = start_push(page, push_server, PIA)
    (request,) = app.pending()
    assert request["context"]["account"] == "pia" and request["context"]["ip"]
    assert request["match"] == {"mode": "type", "digits": 2}
    approved_at = time.monotonic()
    app.run("approve", "--number", number)
    expect(page).to_have_url(f"{push_server.base_url}/account", timeout=5_000)
    moved_after = time.monotonic() - approved_at
    assert moved_after < 5
    expect(page.locator("table.signins")).to_contain_text("Approval in Portvakt Authenticator")

    # "No, it's not me" ends the sign-in, pauses push, and is audited
    sign_out(page)
    start_push(page, push_server, PIA)
    app.run("deny", "--not-me")
    expect(page.locator("#error")).to_contain_text("denied", timeout=5_000)
    _submit(page, "Try again")
    expect(page.locator("#error")).to_contain_text("paused")
    audit = subprocess.run(
        _portvakt("user", "audit", "pia", "--json"),
        env=_server_env(push_server.data_dir),
        cwd=push_server.data_dir,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=True,
    )
    assert "push.fraud_reported" in audit.stdout


def test_wrong_number_two_devices_and_the_app_catching_up(
    page: Page, push_server: LiveServer, tmp_path: Path
) -> None:
    phone, laptop = App(tmp_path / "per-phone"), App(tmp_path / "per-laptop")
    sign_in_password(page, push_server, PER)
    _submit(page, "Skip for now")
    add_device(page, push_server, phone, tmp_path, "Per's phone")
    # a second device needs a fresh second factor: step up with the first one
    page.goto(f"{push_server.base_url}/account/methods/add")
    _submit(page, "Send a request to my app")
    phone.run("approve", "--number", page.locator("#number").inner_text().strip())
    expect(page).to_have_url(f"{push_server.base_url}/account/methods/add", timeout=5_000)
    add_device(page, push_server, laptop, tmp_path, "Per's laptop")
    sign_out(page)

    # a wrong number fails the request; the app says so
    number = start_push(page, push_server, PER)
    wrong = f"{(int(number) + 1) % 100:02d}"
    refused = phone.run("approve", "--number", wrong, check=False)
    assert refused.returncode == 1
    expect(page.locator("#error")).to_contain_text("did not match", timeout=5_000)

    # both devices get the next request (neither app was running when it was sent);
    # the first answer wins and the other is told it is over
    page.goto(f"{push_server.base_url}/signin/factor")
    _submit(page, "Send a request to my app")
    number = page.locator("#number").inner_text().strip()
    (on_phone,) = phone.pending()
    (on_laptop,) = laptop.pending()
    assert on_phone["id"] == on_laptop["id"]
    laptop.run("approve", "--number", number)
    late = phone.run("approve", on_phone["id"], "--number", number, check=False)
    assert late.returncode == 1
    expect(page).to_have_url(f"{push_server.base_url}/account", timeout=5_000)
