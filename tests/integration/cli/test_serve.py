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
