from __future__ import annotations

import base64
import json

import pytest

from tests.integration.cli.conftest import Cli

SECRET_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


@pytest.mark.parametrize("as_json", [False, True])
def test_show_masks_the_secret_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    monkeypatch.setenv("PORTVAKT_SECRET_KEY", SECRET_KEY)

    result = cli.ok("config", "show", *(["--json"] if as_json else []))

    assert SECRET_KEY not in result.output
    assert SECRET_KEY.rstrip("=") not in result.output
    if as_json:
        assert json.loads(result.stdout)["secret_key"] == "********"
    else:
        assert "secret_key                     ********" in result.stdout


def test_show_masks_the_database_password(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTVAKT_DATABASE_URL", "postgresql+psycopg://portvakt:hunter2@db/pv")

    shown = cli.json("config", "show")

    assert "hunter2" not in json.dumps(shown)
    assert shown["database_url"] == "********"
    assert shown["database"] == "postgresql+psycopg://portvakt:***@db/pv"


def test_show_reports_the_environment_over_defaults(cli: Cli, data_dir: object) -> None:
    shown = cli.json("config", "show")

    assert shown["data_dir"] == str(data_dir)
    assert shown["port"] == 8000
    assert shown["secret_key"] is None


def test_invalid_setting_is_one_line_and_exit_2(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTVAKT_PORT", "not-a-port")

    result = cli("config", "show")

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: invalid configuration: ")
    assert "port" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_show_lists_the_trusted_proxies(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "trusted_proxies                (none)" in cli.ok("config", "show").stdout
    assert cli.json("config", "show")["trusted_proxies"] == []
    monkeypatch.setenv("PORTVAKT_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")

    assert "trusted_proxies                127.0.0.1, 10.0.0.0/8" in cli.ok("config", "show").stdout
    assert cli.json("config", "show")["trusted_proxies"] == ["127.0.0.1", "10.0.0.0/8"]


@pytest.mark.parametrize("entry", ["*", "nginx", "10.0.0.1/8", "127.0.0.1:8080"])
def test_a_malformed_trusted_proxy_is_one_line_and_exit_2(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    monkeypatch.setenv("PORTVAKT_TRUSTED_PROXIES", f"127.0.0.1,{entry}")

    for command in (("config", "show"), ("serve",)):
        result = cli(*command)
        assert result.exit_code == 2
        assert result.stderr.startswith("Error: invalid configuration: ")
        assert "trusted_proxies" in result.stderr and repr(entry) in result.stderr
        assert len(result.stderr.splitlines()) == 1
