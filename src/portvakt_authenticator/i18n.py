"""The app's own translations (it may not import the server's ``portvakt.i18n``): the ``.po``
catalogue in ``locales/`` compiled in memory with Babel, as the server does (ADR 0003).

The language is chosen once per process, before Typer builds any help text:
``PORTVAKT_LANGUAGE`` (en or nb), then ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, then English.
Only text for people is translated; JSON keys, event names and error codes stay as they are."""

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

__all__ = ["LANGUAGE", "LANGUAGES", "N_", "_", "language_from_environment", "load", "ngettext"]

LANGUAGES = ("en", "nb")
ALIASES = {"no": "nb", "nb": "nb", "nn": "nb", "en": "en"}
LOCALES = Path(__file__).parent / "locales"
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
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


LANGUAGE = language_from_environment()
_translations = load(LANGUAGE)


def _(message: str) -> str:
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)
