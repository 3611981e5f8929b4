from __future__ import annotations

from tests.integration.cli.conftest import Cli


def test_current_on_a_fresh_folder_is_empty_and_behind(cli: Cli) -> None:
    shown = cli.json("db", "current")

    assert shown["current"] is None
    assert shown["head"]
    assert shown["up_to_date"] is False
    assert "behind: run `portvakt db upgrade`" in cli.ok("db", "current").stdout


def test_upgrade_reaches_head_and_a_second_upgrade_changes_nothing(cli: Cli) -> None:
    first = cli.ok("db", "upgrade")
    second = cli.ok("db", "upgrade")

    shown = cli.json("db", "current")
    assert shown["current"] == shown["head"]
    assert shown["up_to_date"] is True
    assert first.stdout == f"Database upgraded from (empty) to {shown['head']}.\n"
    assert second.stdout.startswith("Database already at the newest revision")


def test_other_commands_upgrade_on_the_way(cli: Cli) -> None:
    cli.ok("user", "list")

    assert cli.json("db", "current")["up_to_date"] is True
