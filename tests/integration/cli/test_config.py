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
