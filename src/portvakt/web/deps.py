"""Request → ``Web`` (runtime, context, renderer for this request), the signed-in session, and
the CSRF check every form passes through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from portvakt.app import Runtime
from portvakt.context import Context
from portvakt.core import sessions
from portvakt.core.oidc import parked
from portvakt.core.oidc.authorize import AuthRequest
from portvakt.domain import Door
from portvakt.web import cookies
from portvakt.web.render import Renderer
from portvakt.web.security import CSRF_FIELD, csp, csrf_valid, source_of


class SignInRequired(Exception):
    """No live session: pages answer with a redirect to the sign-in page."""


class Restricted(Exception):
    """A session that may only add a method (a temporary access pass) asked for anything else:
    a page sends it to adding a method, a form is refused."""


class CsrfFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Web:
    """Everything a page handler needs about this request."""

    request: Request
    rt: Runtime
    ctx: Context
    renderer: Renderer

    def page(self, template: str, **values: Any) -> HTMLResponse:
        """Render a page. While an app's authorization request waits for this browser, its
        forms may end in a redirect to that app (see ``security.csp``), and the page is in the
        language the app asked for (``ui_locales``) unless the person chose one."""
        waiting = self.waiting()
        if waiting is not None:
            headers = dict(values.get("headers") or {})
            headers.setdefault(
                "content-security-policy", csp([source_of(waiting.redirect_uri) or ""])
            )
            values["headers"] = headers
            values.setdefault("preferred_language", waiting.ui_language)
        return self.renderer.page(self.request, template, **values)

    def waiting(self) -> AuthRequest | None:
        """The authorization request waiting for this browser's sign-in, if any (read once per
        HTTP request)."""
        state = self.request.state
        if not hasattr(state, "pv_waiting"):
            state.pv_waiting = parked.waiting(self.rt.core, self.ctx, self.cookie(cookies.AUTHZ))
        found: AuthRequest | None = state.pv_waiting
        return found

    def gettext(self, message: str) -> str:
        waiting = self.waiting()
        preferred = waiting.ui_language if waiting is not None else None
        text: str = self.renderer.gettext(self.request, preferred)(message)
        return text

    def cookie(self, name: str) -> str | None:
        return cookies.read(self.request, name)


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def renderer(request: Request) -> Renderer:
    value: Renderer = request.app.state.renderer
    return value


def web(request: Request) -> Web:
    rt = runtime(request)
    client = request.client.host if request.client else None
    base = rt.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
    pages = renderer(request)
    ctx = rt.context(
        Door.WEB,
        ip=client,
        user_agent=request.headers.get("user-agent"),
        base_url=base.rstrip("/"),
        language=pages.language(request),  # a text message is written in it
    )
    return Web(request=request, rt=rt, ctx=ctx, renderer=pages)


def enrolling_session(w: Annotated[Web, Depends(web)]) -> sessions.SessionView:
    """Any live session, a restricted one too: only for adding a method and signing out."""
    view = sessions.load(w.rt.core, w.ctx, w.cookie(cookies.SESSION))
    if view is None:
        raise SignInRequired
    return view


def current_session(
    view: Annotated[sessions.SessionView, Depends(enrolling_session)],
) -> sessions.SessionView:
    """A full session: every page but adding a method refuses a restricted one here, in one
    place (``Restricted``)."""
    if view.restricted:
        raise Restricted
    return view


async def csrf_protect(request: Request) -> None:
    """Router-level dependency: every unsafe request must carry a valid CSRF token."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not csrf_valid(runtime(request).box, request, token):
        raise CsrfFailed


W = Annotated[Web, Depends(web)]
Live = Annotated[sessions.SessionView, Depends(current_session)]
# a full session or one that may only add a method (a sign-in with a temporary access pass)
Enrolling = Annotated[sessions.SessionView, Depends(enrolling_session)]
