"""The app's own catalogue: every string marked for translation has a Norwegian Bokmål text,
placeholders survive, and the language follows PORTVAKT_LANGUAGE, then the POSIX locale."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import portvakt_authenticator
from portvakt_authenticator.i18n import language_from_environment, load

PACKAGE = Path(portvakt_authenticator.__file__).parent
PO = PACKAGE / "locales" / "nb" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def _extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), [("**.py", "python")], keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog() -> dict[str, tuple[str, ...]]:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="nb")
    have = {}
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        have[key] = tuple(str(s) for s in strings)
    return have


def test_every_extracted_string_has_a_norwegian_translation() -> None:
    wanted = _extracted()
    assert len(wanted) > 100
    have = _catalog()
    missing = sorted(m for m in wanted if not all(have.get(m, ("",))))
    assert missing == []


def test_placeholders_survive_translation() -> None:
    for source, strings in _catalog().items():
        placeholders = sorted(re.findall(r"%\(\w+\)s", source))
        for text in strings:
            assert sorted(re.findall(r"%\(\w+\)s", text)) == placeholders, (source, text)


def test_language_choice_order() -> None:
    assert language_from_environment({"PORTVAKT_LANGUAGE": "nb", "LANG": "en_US.UTF-8"}) == "nb"
    assert language_from_environment({"PORTVAKT_LANGUAGE": "xx", "LANG": "nn_NO.UTF-8"}) == "nb"
    assert language_from_environment({"LC_ALL": "en_GB", "LANG": "nb_NO"}) == "en"
    assert language_from_environment({"LC_MESSAGES": "no_NO.UTF-8"}) == "nb"
    assert language_from_environment({"LANG": "C"}) == "en"
    assert language_from_environment({}) == "en"


def test_catalogue_loads_and_translates() -> None:
    assert load("nb").gettext("Yes, it's me") == "Ja, det er meg"
    assert load("en").gettext("Yes, it's me") == "Yes, it's me"
    assert load("de").gettext("Yes, it's me") == "Yes, it's me"


def test_command_speaks_norwegian(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PORTVAKT_LANGUAGE": "nb",
        "PORTVAKT_AUTHENTICATOR_HOME": str(tmp_path),
    }
    code = "from portvakt_authenticator.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "add", "https://example.org"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "Feil: ikke en otpauth://- eller portvakt://activate-URI\n"
