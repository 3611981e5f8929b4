from __future__ import annotations

from pathlib import Path

import pytest

from portvakt import __version__
from tests.integration.cli.conftest import Cli


def test_version(cli: Cli) -> None:
    assert cli.ok("--version").stdout == f"portvakt {__version__}\n"


def test_no_arguments_show_the_commands(cli: Cli) -> None:
    result = cli()

    for noun in ("serve", "user", "db", "config"):
        assert noun in result.output


def test_an_unusable_data_folder_is_one_line_and_exit_1(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PORTVAKT_DATA_DIR", str(blocker / "data"))

    result = cli("user", "list")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1
