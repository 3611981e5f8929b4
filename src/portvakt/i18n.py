"""Translations shared by the doors: the ``.po`` catalogues in ``web/locales`` compiled in memory
at start-up (no binary files in git, ADR 0003), the ``N_`` marker, and the language of a
command-line process (``PORTVAKT_LANGUAGE``, then the POSIX locale variables, then English)."""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: dict[str, str] = {"en": "English", "nb": "Norsk bokmål"}
ALIASES = {"no": "nb", "nb": "nb", "nn": "nb", "en": "en"}
LOCALES = Path(__file__).parent / "web" / "locales"
LANGUAGE_VARIABLE = "PORTVAKT_LANGUAGE"
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX order: the first one set wins


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated when shown."""
    return message


def language_of(tag: str) -> str | None:
    """``nb_NO.UTF-8``, ``no_NO``, ``nn-NO``, ``en_GB`` → ``nb`` or ``en``; None for others."""
    primary = re.split(r"[_.@-]", tag.strip().lower(), maxsplit=1)[0]
    return ALIASES.get(primary)


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``PORTVAKT_LANGUAGE`` if it names a known language, otherwise the first of ``LC_ALL``,
    ``LC_MESSAGES`` and ``LANG`` that is set (``C`` and unknown languages mean English)."""
    env = os.environ if environ is None else environ
    explicit = language_of(env.get(LANGUAGE_VARIABLE, ""))
    if explicit is not None:
        return explicit
    for name in LOCALE_VARIABLES:
        value = env.get(name)
        if value:
            return language_of(value) or "en"
    return "en"


def load(lang: str, directory: Path = LOCALES) -> stdlib_gettext.NullTranslations:
    """The compiled catalogue of one language; English (the source text) needs none."""
    po = directory / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or lang not in LANGUAGES or not po.is_file():
        return stdlib_gettext.NullTranslations()
    return _compile(po)


class Catalogs:
    """Every language's catalogue, compiled once (the web door serves all of them)."""

    def __init__(self, directory: Path = LOCALES) -> None:
        self._by_lang = {lang: load(lang, directory) for lang in LANGUAGES}

    def get(self, lang: str) -> stdlib_gettext.NullTranslations:
        return self._by_lang.get(lang, self._by_lang["en"])


def _compile(po: Path) -> Translations:
    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)
