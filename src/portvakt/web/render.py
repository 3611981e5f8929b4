"""Jinja2 with per-request translations; every page gets the CSRF token and language."""

from __future__ import annotations

from typing import Any

import segno
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.ext import _make_new_gettext, _make_new_ngettext  # newstyle gettext wrappers
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from portvakt.web import cookies
from portvakt.web.i18n import LANGUAGES, Catalogs, pick_language
from portvakt.web.security import CSRF_COOKIE, csrf_cookie_value, csrf_token_for


class Renderer:
    def __init__(self, runtime: Any, catalogs: Catalogs) -> None:
        self.runtime = runtime
        self.catalogs = catalogs
        registry = runtime.core.registry
        self.env = Environment(
            # a method's own templates are ``methods/<kind>/<name>.html`` (methods/<kind>/templates)
            loader=ChoiceLoader(
                [
                    PackageLoader("portvakt.web", "templates"),
                    PrefixLoader(
                        {
                            "methods": PrefixLoader(
                                {
                                    kind: FileSystemLoader(folder)
                                    for kind, folder in registry.template_folders().items()
                                }
                            )
                        }
                    ),
                ]
            ),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["datetime"] = _format_datetime
        self.env.globals["qr_svg"] = qr_svg
        self.env.globals["method_text"] = method_text
        self.env.globals["method_status"] = method_status

    def language(self, request: Request, preferred: str | None = None) -> str:
        """``preferred``: the language an app asked for (``ui_locales``); the person's own
        choice (the ``pv_lang`` cookie) still wins."""
        return pick_language(
            cookies.read(request, cookies.LANG),
            request.headers.get("accept-language"),
            self.runtime.settings.default_language,
            preferred=preferred,
        )

    def gettext(self, request: Request, preferred: str | None = None) -> Any:
        return self.catalogs.get(self.language(request, preferred)).gettext

    def page(
        self,
        request: Request,
        template: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        preferred_language: str | None = None,
        **values: Any,
    ) -> HTMLResponse:
        lang = self.language(request, preferred_language)
        translations = self.catalogs.get(lang)
        message = values.get("error")
        if isinstance(message, str):
            values["error"] = translations.gettext(message)
        cookie_value, fresh = csrf_cookie_value(request)
        context = {
            "request": request,
            "lang": lang,
            "languages": LANGUAGES,
            "csrf_token": csrf_token_for(self.runtime.box, cookie_value),
            "issuer": self.runtime.settings.issuer,
            "gettext": _make_new_gettext(translations.gettext),
            "_": _make_new_gettext(translations.gettext),
            "ngettext": _make_new_ngettext(translations.ngettext),
            **values,
        }
        html = self.env.get_template(template).render(context)
        response = HTMLResponse(html, status_code=status, headers=headers)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE,
                cookie_value,
                path="/",
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response


@pass_context
def method_text(context: Context, kind: str, which: str = "name") -> str:
    """A method kind's name (``name``, ``used``, ``describe``, ``setup``) from its
    ``methods/<kind>/name.html``; the kind itself for a kind that is no longer registered."""
    macro = _name_macro(context, kind, which)
    return str(macro()) if macro is not None else kind


@pass_context
def method_status(context: Context, credential: Any) -> Markup:
    """What a kind says about one of the person's credentials on Security info (the
    ``status(cred)`` macro of its ``name.html``: codes left); empty when it says nothing."""
    macro = _name_macro(context, credential.kind, "status")
    return Markup(macro(credential)) if macro is not None else Markup("")  # noqa: S704 - a macro's autoescaped output


def _name_macro(context: Context, kind: str, which: str) -> Any:
    """The macro ``which`` of ``methods/<kind>/name.html``; None when there is none."""
    try:
        template = context.environment.get_template(f"methods/{kind}/name.html")
    except TemplateNotFound:
        return None
    macro = getattr(template.make_module(context.get_all()), which, None)
    return macro if callable(macro) else None


def qr_svg(data: str) -> Markup:
    """An inline SVG QR code (segno); no script, so it passes the CSP."""
    code = segno.make(data, error="m")
    svg = code.svg_inline(scale=5, border=4, dark="#000", light="#fff", svgclass="qr", title="QR")
    return Markup(svg)  # noqa: S704 - segno output, the data is escaped by segno


def _format_datetime(value: Any) -> str:
    if value is None:
        return ""
    return str(value.strftime("%Y-%m-%d %H:%M UTC"))
