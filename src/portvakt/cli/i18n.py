"""The operator's language, chosen once per process before Typer builds any help text:
``PORTVAKT_LANGUAGE`` (en or nb), then ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, then English.

Only text for people is translated; JSON, event names, setting names, table column names and
error codes stay as they are, so scripts see the same output in every language."""

from __future__ import annotations

from portvakt.i18n import N_, language_from_environment, load

__all__ = ["LANGUAGE", "N_", "_", "ngettext"]

LANGUAGE = language_from_environment()
_translations = load(LANGUAGE)


def _(message: str) -> str:
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)
