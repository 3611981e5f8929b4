"""The operator's language: ``PORTVAKT_LANGUAGE``, then ``LC_ALL``, ``LC_MESSAGES``, ``LANG``,
then English; texts for people are translated, machine output (JSON, table columns) is not.

The CLI chooses its language once, when it is imported (Typer builds help texts then), and this
process imported it in English (see tests/conftest.py), so other languages run ``portvakt`` in a
subprocess exactly as an operator's shell would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portvakt.cli.userimport import PHASES
from portvakt.i18n import language_from_environment

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "src/portvakt/web/locales/nb/LC_MESSAGES/messages.po"
LANGUAGE_VARIABLES = ("PORTVAKT_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
PASSWORD = "correct horse battery staple"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def portvakt(tmp_path: Path) -> Run:
    """``portvakt ARGS`` in a subprocess on a fresh data folder, with no language variable set
    except the ones given (``LANG="nb_NO.UTF-8"``)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PORTVAKT_") and name not in LANGUAGE_VARIABLES
    }
    env["PORTVAKT_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "200"  # help is wrapped to the terminal width; keep sentences on one line

    def run(
        *args: str, input: str | None = None, **language: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "portvakt", *args],
            input=input,
            env={**env, **language},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "en"),
        ({"PORTVAKT_LANGUAGE": "nb"}, "nb"),
        ({"PORTVAKT_LANGUAGE": "en", "LANG": "nb_NO.UTF-8"}, "en"),
        ({"PORTVAKT_LANGUAGE": "de", "LANG": "nb_NO.UTF-8"}, "nb"),  # unknown: not a choice
        ({"LANG": "nb_NO.UTF-8"}, "nb"),
        ({"LANG": "no_NO"}, "nb"),
        ({"LANG": "nn_NO.UTF-8"}, "nb"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LC_MESSAGES": "nb_NO.UTF-8", "LANG": "en_GB.UTF-8"}, "nb"),
        ({"LC_ALL": "C.UTF-8", "LC_MESSAGES": "nb_NO.UTF-8"}, "en"),  # LC_ALL wins
        ({"LC_ALL": "", "LANG": "nb_NO"}, "nb"),  # empty counts as unset
        ({"LC_ALL": "en_US.UTF-8", "LANG": "nb_NO.UTF-8"}, "en"),
    ],
)
def test_language_choice_order(variables: dict[str, str], expected: str) -> None:
    assert language_from_environment(variables) == expected


@pytest.mark.parametrize("language", [{"PORTVAKT_LANGUAGE": "nb"}, {"LANG": "nb_NO.UTF-8"}])
def test_an_unknown_user_is_reported_in_norwegian(portvakt: Run, language: dict[str, str]) -> None:
    result = portvakt("user", "show", "nobody", **language)

    assert result.returncode == 1
    assert result.stderr == "Feil: brukeren finnes ikke\n"
    assert result.stdout == ""


def test_english_without_a_language(portvakt: Run) -> None:
    result = portvakt("user", "show", "nobody")

    assert result.returncode == 1
    assert result.stderr == "Error: no such user\n"


def test_success_messages_are_norwegian_and_json_is_not_translated(portvakt: Run) -> None:
    added = portvakt(
        "user", "add", "alice", "--password-stdin", input=f"{PASSWORD}\n", PORTVAKT_LANGUAGE="nb"
    )

    assert added.returncode == 0, added.stderr
    assert added.stdout == "Opprettet brukeren alice (id 1).\n"
    shown = portvakt("user", "show", "alice", "--json", PORTVAKT_LANGUAGE="nb")
    assert json.loads(shown.stdout)["lockout"] == "open"
    listed = portvakt("user", "list", PORTVAKT_LANGUAGE="nb").stdout.splitlines()
    assert listed[0].split() == ["USERNAME", "DISPLAY", "NAME", "EMAIL", "STATUS"]
    assert listed[1].split() == ["alice", "alice", "-", "active"]


def test_help_follows_the_language(portvakt: Run) -> None:
    norwegian = portvakt("user", "--help", LANG="nb_NO.UTF-8")
    english = portvakt("user", "--help")

    assert norwegian.returncode == english.returncode == 0
    assert "Legg til, vis, endre og importer personer." in norwegian.stdout
    assert "Opprett en bruker" in norwegian.stdout
    assert "Add, inspect, change and import people." not in norwegian.stdout
    assert "Add, inspect, change and import people." in english.stdout
    assert "Create a user" in english.stdout


def test_every_placeholder_survives_translation() -> None:
    with CATALOGUE.open("rb") as handle:
        catalog = read_po(handle, locale="nb")
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {p for source in ids for p in re.findall(r"%\(\w+\)s", str(source))}
        for text in strings:
            assert set(re.findall(r"%\(\w+\)s", str(text))) == wanted, (ids, text)


def test_every_import_phase_is_marked_for_translation() -> None:
    sources = (ROOT / "src/portvakt/core/userimport").glob("*.py")
    phases = {p for f in sources for p in re.findall(r'\.start\(\s*"([^"]+)"', f.read_text())}

    assert phases
    assert phases <= set(PHASES)
