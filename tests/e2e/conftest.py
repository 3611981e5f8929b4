"""A real server process (``python -m portvakt serve``) on a free loopback port, users made
with the real CLI, and one headless Chromium (Debian's, driven by Playwright) per session.

Chromium comes from the system package (``apt-get install chromium``), never from
``playwright install``. Without it the browser tests skip, unless ``CI=true`` or
``PORTVAKT_TEST_REQUIRE_BROWSER=1``, where they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
START_TIMEOUT = 20.0
CLI_TIMEOUT = 60.0

# Two people, so that the tests do not depend on each other's order (pytest-randomly):
# erika goes through the whole story, ola only through activation for the console check.
ERIKA = ("erika", "Erika Mustermann", "Rødgrød med fløde 4 erika!")
OLA = ("ola", "Ola Nordmann", "Ola sitt lange passord 2026")


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    password: str


@dataclass(frozen=True)
class LiveServer:
    base_url: str  # http://localhost:PORT, the name a person types (and WebAuthn needs)
    port: int
    data_dir: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _browser_required() -> bool:
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("PORTVAKT_TEST_REQUIRE_BROWSER") == "1"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_env(data_dir: Path) -> dict[str, str]:
    """This process's environment without any PORTVAKT_* setting, pointed at ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
    env["PORTVAKT_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _portvakt(*args: str) -> list[str]:
    return [sys.executable, "-m", "portvakt", *args]


def _add_user(person: Person, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        _portvakt(
            "user",
            "add",
            person.username,
            "--display-name",
            person.display_name,
            "--password-stdin",
        ),
        input=person.password + "\n",
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"portvakt user add {person.username} failed ({done.returncode}):\n"
        f"{done.stdout}\n{done.stderr}"
    )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_until_up(proc: subprocess.Popen[bytes], server: LiveServer) -> None:
    health = f"http://127.0.0.1:{server.port}/healthz"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"portvakt serve exited with {proc.returncode} before answering:\n{server.output()}"
            )
        if _healthy(health):
            return
        time.sleep(0.1)
    pytest.fail(
        f"portvakt serve did not answer {health} in {START_TIMEOUT:.0f} s:\n{server.output()}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def serving(
    data_dir: Path,
    env: dict[str, str],
    *,
    cwd: Path | None = None,
    port: int | None = None,
    host_name: str = "localhost",
) -> Iterator[LiveServer]:
    """``portvakt serve`` on 127.0.0.1 (a free port unless given) until the block ends."""
    port = port or _free_port()
    where = cwd or data_dir
    server = LiveServer(f"http://{host_name}:{port}", port, data_dir, where / "server.log")
    with server.log.open("wb") as log:
        proc = subprocess.Popen(
            _portvakt("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            cwd=where,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(proc, server)
        yield server
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def people() -> dict[str, Person]:
    return {p[0]: Person(*p) for p in (ERIKA, OLA)}


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, people: dict[str, Person]
) -> Iterator[LiveServer]:
    """``portvakt serve`` on 127.0.0.1 with its own data folder and the people above in it."""
    root = tmp_path_factory.mktemp("e2e-server")
    data_dir = root / "data"
    env = _server_env(data_dir)
    for person in people.values():
        _add_user(person, env, root)
    with serving(data_dir, env, cwd=root) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running on the
    main thread while it is open, which would break ``asyncio.run`` in other modules' tests."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium; never `playwright install`)"
        if _browser_required():
            pytest.fail(f"{reason}, and CI=true or PORTVAKT_TEST_REQUIRE_BROWSER=1 requires it")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test (no cookies), English, a desktop-sized window."""
    ctx = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 850})
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save screenshots; PORTVAKT_E2E_SCREENSHOTS chooses a fixed folder."""
    chosen = os.environ.get("PORTVAKT_E2E_SCREENSHOTS")
    if chosen:
        folder = Path(chosen)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")
