"""Translations: ``.po`` catalogues compiled in memory at start-up (no binary files in git),
language chosen from the ``pv_lang`` cookie, then Accept-Language, then the default."""

from __future__ import annotations

import gettext as stdlib_gettext
import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: dict[str, str] = {"en": "English", "nb": "Norsk bokmål"}
ALIASES = {"no": "nb", "nb": "nb", "nn": "nb", "en": "en"}
LOCALES = Path(__file__).parent / "locales"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated when shown."""
    return message


class Catalogs:
    def __init__(self, directory: Path = LOCALES) -> None:
        self._by_lang: dict[str, stdlib_gettext.NullTranslations] = {
            "en": stdlib_gettext.NullTranslations()
        }
        for lang in LANGUAGES:
            po = directory / lang / "LC_MESSAGES" / "messages.po"
            if lang != "en" and po.is_file():
                self._by_lang[lang] = _compile(po)

    def get(self, lang: str) -> stdlib_gettext.NullTranslations:
        return self._by_lang.get(lang, self._by_lang["en"])


def _compile(po: Path) -> Translations:
    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def pick_language(cookie: str | None, accept_language: str | None, default: str) -> str:
    if cookie in LANGUAGES:
        return cookie
    for lang in _parse_accept(accept_language or ""):
        primary = lang.split("-")[0]
        if primary in ALIASES:
            return ALIASES[primary]
    return default


def _parse_accept(header: str) -> list[str]:
    weighted: list[tuple[float, str]] = []
    for part in header.split(",")[:20]:
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            weighted.append((quality, tag))
    return [tag for _, tag in sorted(weighted, key=lambda item: -item[0])]


Gettext = Callable[[str], str]
