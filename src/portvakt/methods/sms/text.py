"""The text message: translated (the reader's language, else the service's default) and
ending with the WebOTP line (``@host #code``) so that phones offer to fill the code in."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from portvakt.context import Context
from portvakt.i18n import N_, Catalogs

BODY = N_("%(code)s is your %(issuer)s code. It works for %(minutes)s minutes. Never share it.")


@cache
def _catalogs() -> Catalogs:
    return Catalogs()


def host_of(ctx: Context) -> str | None:
    url = ctx.settings.public_url or ctx.base_url
    return urlsplit(url).hostname if url else None


def message(ctx: Context, code: str, *, minutes: int) -> str:
    """The text for ``code``. The WebOTP line (web.dev/articles/web-otp) is added when the
    server's host is known (``public_url``)."""
    gettext = _catalogs().get(ctx.lang()).gettext
    body = gettext(BODY) % {"code": code, "issuer": ctx.settings.issuer, "minutes": minutes}
    host = host_of(ctx)
    return f"{body}\n\n@{host} #{code}" if host else body
