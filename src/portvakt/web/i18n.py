"""Translations for the browser: the shared catalogues of ``portvakt.i18n``, language chosen
from the ``pv_lang`` cookie (the person's own choice), then the language an app asked for
(``ui_locales``, while its authorization request waits), then Accept-Language, then the
default."""

from __future__ import annotations

from collections.abc import Callable

from portvakt.i18n import ALIASES, LANGUAGES, LOCALES, N_, Catalogs

__all__ = ["LANGUAGES", "LOCALES", "N_", "Catalogs", "Gettext", "pick_language"]


def pick_language(
    cookie: str | None, accept_language: str | None, default: str, *, preferred: str | None = None
) -> str:
    if cookie in LANGUAGES:
        return cookie
    if preferred in LANGUAGES:
        return preferred
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
