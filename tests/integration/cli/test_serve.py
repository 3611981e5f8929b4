"""``serve`` itself runs a server (tested by the lead's end-to-end suite); here only its
help and the first-user hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from portvakt.cli.serve import first_user_command
from portvakt.settings import Settings
from tests.integration.cli.conftest import Cli


def test_help_lists_the_options(cli: Cli) -> None:
    text = cli.ok("serve", "--help").stdout

    for option in ("--host", "--port", "--log-level", "--graceful-timeout"):
        assert option in text


def test_first_user_command_points_at_the_data_folder(data_dir: Path) -> None:
    command = first_user_command(Settings())

    assert command == f"PORTVAKT_DATA_DIR={data_dir} portvakt user add alice"


def test_first_user_command_is_bare_with_the_default_folder(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PORTVAKT_DATA_DIR")

    assert first_user_command(Settings(), "admin") == "portvakt user add admin"


def test_serve_warns_when_apps_exist_without_a_public_url(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    quiet = cli.ok("serve", "--port", "8123")
    assert "public_url" not in quiet.output and started[-1]["port"] == 8123
    cli.ok("client", "add", "Mail", "--redirect-uri", "https://mail.example.org/cb")
    warned = cli.ok("serve", "--port", "8123")
    assert "public_url is not set" in warned.output and len(started) == 2


def test_serve_trusts_forwarded_headers_only_from_trusted_proxies(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's own default believes X-Forwarded-For from any loopback peer; serve turns the
    headers off unless trusted_proxies names the proxy (tests/e2e/test_proxy_headers.py runs
    the real server)."""
    import uvicorn

    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    plain = cli.ok("serve")
    assert started[-1]["proxy_headers"] is False and not started[-1]["forwarded_allow_ips"]
    assert "X-Forwarded" not in plain.output
    monkeypatch.setenv("PORTVAKT_TRUSTED_PROXIES", "127.0.0.1,10.1.0.0/16")
    proxied = cli.ok("serve")
    assert started[-1]["proxy_headers"] is True
    assert started[-1]["forwarded_allow_ips"] == ["127.0.0.1", "10.1.0.0/16"]
    assert "believed from: 127.0.0.1, 10.1.0.0/16" in proxied.stdout


def test_serve_warns_when_an_https_address_has_no_trusted_proxy(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    monkeypatch.setenv("PORTVAKT_PUBLIC_URL", "https://mfa.example.org")
    assert "PORTVAKT_TRUSTED_PROXIES" in cli.ok("serve").stderr
    monkeypatch.setenv("PORTVAKT_TRUSTED_PROXIES", "127.0.0.1")
    assert "PORTVAKT_TRUSTED_PROXIES" not in cli.ok("serve").stderr


def test_serve_names_deprecated_method_settings_and_what_replaces_them(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    assert "deprecated" not in cli.ok("serve").stderr
    monkeypatch.setenv("PORTVAKT_PUSH_MATCH_MODE", "pick")
    warned = cli.ok("serve").stderr
    assert "push_match_mode is deprecated" in warned
    assert "match_mode under [methods.push]" in warned
    assert "PORTVAKT_METHODS__PUSH__MATCH_MODE" in warned
    monkeypatch.setenv("PORTVAKT_PUSH_MATCH_MODE", "swipe")
    assert cli("serve").exit_code != 0
