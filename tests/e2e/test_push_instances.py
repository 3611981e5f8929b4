"""Two server processes on one PostgreSQL database: the browser waits on instance A while the
approval arrives at instance B; A's waiting page hears of it through LISTEN/NOTIFY."""

from __future__ import annotations

import base64
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx2
import pytest

from portvakt.context import SystemClock
from tests.e2e.conftest import (
    CLI_TIMEOUT,
    LiveServer,
    _free_port,
    _portvakt,
    _server_env,
    serving,
)
from tests.integration.push.simapp import SimApp, activation_uri, number_on

PASSWORD = "two instances, one database"


@pytest.fixture
def pair(pg_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Instances A and B: same database, same key, same public URL (as behind a balancer)."""
    port_a, port_b = _free_port(), _free_port()
    shared = {
        "PORTVAKT_DATABASE_URL": pg_url,
        "PORTVAKT_SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PORTVAKT_PUBLIC_URL": f"http://127.0.0.1:{port_a}",
        "PORTVAKT_ENROLLMENT_DEADLINE": "2099-01-01",
    }
    with ExitStack() as stack:
        servers = []
        for name, port in (("a", port_a), ("b", port_b)):
            data_dir = tmp_path / name
            data_dir.mkdir()
            env = _server_env(data_dir) | shared
            if name == "a":
                subprocess.run(
                    _portvakt("user", "add", "nina", "--password-stdin"),
                    input=PASSWORD,
                    env=env,
                    cwd=data_dir,
                    text=True,
                    capture_output=True,
                    check=True,
                    timeout=CLI_TIMEOUT,
                )
            servers.append(
                stack.enter_context(serving(data_dir, env, port=port, host_name="127.0.0.1"))
            )
        yield servers[0], servers[1]


def _csrf(client: httpx2.Client, path: str = "/signin") -> str:
    html = client.get(path).text
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _password(browser: httpx2.Client) -> httpx2.Response:
    return browser.post(
        "/signin", data={"username": "nina", "password": PASSWORD, "csrf_token": _csrf(browser)}
    )


def test_approval_on_b_reaches_the_browser_waiting_on_a(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    a, b = pair
    with (
        httpx2.Client(base_url=a.base_url, follow_redirects=True, timeout=20) as browser,
        httpx2.Client(base_url=b.base_url, timeout=20) as to_b,
    ):
        _password(browser)
        browser.post("/signin/activate/skip", data={"csrf_token": _csrf(browser)})
        page = browser.post(
            "/account/methods/add", data={"kind": "push", "csrf_token": _csrf(browser, "/account")}
        )
        app = SimApp(to_b, SystemClock())  # the app talks to B only
        assert app.register(activation_uri(page.text)).status_code == 201
        (test,) = app.challenges()
        number = number_on(browser.get(page.url.path).text)  # A shows the test number
        assert app.approve(test, number).json() == {"state": "approved"}

        browser.post("/signout", data={"csrf_token": _csrf(browser, "/account")})
        _password(browser)
        wait = browser.post("/signin/push", data={"csrf_token": _csrf(browser, "/signin/factor")})
        tx = wait.url.params["tx"]
        (challenge,) = app.challenges()

        answered_at: list[float] = []

        def approve_on_b() -> None:
            app.approve(challenge, number_on(wait.text))
            answered_at.append(time.monotonic())

        approver = threading.Timer(0.5, approve_on_b)
        heard: list[str] = []
        with browser.stream("GET", f"/signin/push/events?tx={tx}") as events:
            approver.start()
            for line in events.iter_lines():
                if line.startswith("data: "):
                    heard.append(line)
                    if "approved" in line:
                        heard_at = time.monotonic()
                        break
        approver.join()
        assert heard[0] == 'data: {"state": "pending"}'
        latency = heard_at - answered_at[0]
        assert latency < 1.0, f"A heard of B's approval after {latency:.3f} s"
        done = browser.post(
            f"/signin/push/complete?tx={tx}", data={"csrf_token": _csrf(browser, "/signin/factor")}
        )
        assert done.url.path == "/account"
