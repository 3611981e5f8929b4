"""``portvakt serve`` believes ``X-Forwarded-For`` and ``X-Forwarded-Proto`` only from the
addresses in ``trusted_proxies`` (none by default): a real server process on loopback, a
rotating forwarded address, and the per-address password budget (RL-05)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from tests.conftest import csrf_of
from tests.e2e.conftest import LiveServer, _server_env, serving

BUDGET = 5  # password_attempts_per_ip, its smallest value
ATTEMPTS = 12


@contextmanager
def server(tmp_path: Path, **settings: str) -> Iterator[LiveServer]:
    data_dir = tmp_path / "data"
    env = _server_env(data_dir) | {"PORTVAKT_PASSWORD_ATTEMPTS_PER_IP": str(BUDGET)}
    env |= {f"PORTVAKT_{name.upper()}": value for name, value in settings.items()}
    with serving(data_dir, env, cwd=tmp_path, host_name="127.0.0.1") as live:
        yield live


def wrong_passwords(live: LiveServer) -> list[int]:
    """``ATTEMPTS`` wrong passwords for made-up names, each claiming another client address."""
    statuses = []
    with httpx2.Client(base_url=live.base_url, timeout=20) as browser:
        for n in range(ATTEMPTS):
            forwarded = {"x-forwarded-for": f"198.51.100.{n + 1}"}
            token = csrf_of(browser.get("/signin", headers=forwarded).text)
            answer = browser.post(
                "/signin",
                data={"username": f"nobody{n}", "password": "wrong guess", "csrf_token": token},
                headers=forwarded,
            )
            statuses.append(answer.status_code)
    return statuses


def over_https(live: LiveServer) -> bool:
    """Whether a first visit claiming to come in over https was answered as one: the CSRF
    cookie ``Secure`` and ``Strict-Transport-Security`` sent."""
    answer = httpx2.get(f"{live.base_url}/signin", headers={"x-forwarded-proto": "https"})
    secure = "secure" in answer.headers["set-cookie"].lower()
    assert secure == ("strict-transport-security" in answer.headers)
    return secure


def test_forwarded_headers_are_ignored_by_default(tmp_path: Path) -> None:
    """A rotating X-Forwarded-For from loopback does not escape the per-address budget, and
    X-Forwarded-Proto does not make the answer think it went over https."""
    with server(tmp_path) as live:
        assert wrong_passwords(live) == [401] * BUDGET + [429] * (ATTEMPTS - BUDGET)
        assert not over_https(live)


def test_forwarded_headers_are_believed_from_a_trusted_proxy(tmp_path: Path) -> None:
    """With 127.0.0.1 named in trusted_proxies, each forwarded address has its own budget and
    the forwarded scheme counts."""
    with server(tmp_path, trusted_proxies="127.0.0.1") as live:
        assert wrong_passwords(live) == [401] * ATTEMPTS
        assert over_https(live)


def test_a_proxy_network_is_trusted_too(tmp_path: Path) -> None:
    with server(tmp_path, trusted_proxies="10.0.0.0/8, 127.0.0.0/8") as live:
        assert wrong_passwords(live)[BUDGET:] == [401] * (ATTEMPTS - BUDGET)
