"""Browser-facing OpenID Connect endpoints: authorization (and its return after sign-in),
cancel, and RP-initiated logout. Problems with the client or the redirect URI are shown as a
page and never redirected; everything else goes back to the app as an OAuth error, by a
redirect or (``response_mode=form_post``) by a page that posts a form to the app."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.core import sessions
from portvakt.core.oidc import authorize, logout, parked
from portvakt.core.oidc.authorize import Interact, Redirect
from portvakt.core.oidc.errors import OAuthError, PageError
from portvakt.web import cookies
from portvakt.web.deps import Web, csrf_protect, web
from portvakt.web.messages import error_text
from portvakt.web.oidc import common
from portvakt.web.security import csp, source_of

router = APIRouter(include_in_schema=False)
RESUME = "/oauth2/resume"


def _oidc_web(request: Request) -> Web:
    w = web(request)
    _, ctx = common.context(request)
    return Web(request=w.request, rt=w.rt, ctx=ctx, renderer=w.renderer)


def _page_error(w: Web, code: str, *, status: int = 400) -> Response:
    response = w.page("error.html", status=status, error=error_text(code))
    cookies.clear(w.request, response, cookies.AUTHZ)
    return response


async def _params(request: Request, w: Web) -> dict[str, list[str]] | Response:
    try:
        return await common.params(request)
    except OAuthError:
        return _page_error(w, "invalid_request")


@router.api_route("/oauth2/authorize", methods=["GET", "POST"])
async def authorize_endpoint(request: Request) -> Response:
    w = _oidc_web(request)
    found = await _params(request, w)
    if isinstance(found, Response):
        return found
    return await run_in_threadpool(_authorize, w, found)


def _authorize(w: Web, params: dict[str, list[str]]) -> Response:
    core, ctx = w.rt.core, w.ctx
    try:
        req = authorize.parse(core, ctx, params)
    except PageError as exc:
        return _page_error(w, exc.code)
    except authorize.Refused as exc:
        return _to_app(w, exc.redirect)
    live = sessions.load(core, ctx, w.cookie(cookies.SESSION))
    return _answer(w, authorize.decide(core, ctx, req, live), token=None)


@router.get(RESUME)
def resume(w: Web = Depends(_oidc_web)) -> Response:  # noqa: B008 - FastAPI dependency
    """Where the sign-in pages send the browser once it is signed in (or stepped up)."""
    token = w.cookie(cookies.AUTHZ)
    try:
        req = parked.load(w.rt.core, w.ctx, token)
    except PageError as exc:
        return _page_error(w, exc.code)
    live = sessions.load(w.rt.core, w.ctx, w.cookie(cookies.SESSION))
    return _answer(w, authorize.decide(w.rt.core, w.ctx, req, live), token=token)


@router.post("/oauth2/cancel", dependencies=[Depends(csrf_protect)])
def cancel(w: Web = Depends(_oidc_web)) -> Response:  # noqa: B008
    """The person chose not to sign in to the app: tell the app ``access_denied``."""
    token = w.cookie(cookies.AUTHZ)
    try:
        req = parked.load(w.rt.core, w.ctx, token)
    except PageError as exc:
        return _page_error(w, exc.code)
    refusal = OAuthError("access_denied", "The person cancelled the sign-in.")
    return _answer(w, authorize.error_redirect(w.ctx, req, refusal), token=token)


def _to_app(w: Web, answer: Redirect) -> Response:
    """The answer for the app: a 303 to its redirect URI, or for ``form_post`` a page whose
    form carries the fields there (OAuth 2.0 Form Post Response Mode §2). The CSP lets that
    form, and only that one, leave for the app's origin; the page sends it by itself with
    ``form_post.js`` (no inline script under the CSP) and shows a button without JavaScript."""
    if not answer.form_post:
        return RedirectResponse(answer.url, status_code=303)
    req = answer.request
    headers = {"content-security-policy": csp([source_of(req.redirect_uri) or ""])}
    headers |= common.NO_STORE
    return w.renderer.page(
        w.request,
        "oidc/form_post.html",
        headers=headers,
        preferred_language=req.ui_language,
        action=req.redirect_uri,
        fields=answer.params,
        app_name=req.client.name,
    )


def _answer(w: Web, outcome: Redirect | Interact, *, token: str | None) -> Response:
    if isinstance(outcome, Redirect):
        response = _to_app(w, outcome)
        if token is not None:
            parked.drop(w.rt.core, token)
            cookies.clear(w.request, response, cookies.AUTHZ)
        return response
    if token is None:
        token = parked.park(w.rt.core, w.ctx, outcome.request, for_signin=outcome.step == "signin")
    if outcome.step == "step_up":
        target = f"/account/verify?next={quote(RESUME)}"
    elif outcome.step == "add_method":  # the add page says to finish and sign in again
        target = "/account/methods/add"
    else:
        query = {"login": "1" if outcome.fresh else None, "login_hint": outcome.login_hint}
        shown = {k: v for k, v in query.items() if v}
        target = "/signin" + (f"?{urlencode(shown)}" if shown else "")
    response = RedirectResponse(target, status_code=303)
    max_age = w.rt.settings.signin_ttl_seconds
    cookies.write(w.request, response, cookies.AUTHZ, token, max_age=max_age)
    return response


# -- logout ------------------------------------------------------------------------------------


@router.api_route("/oauth2/logout", methods=["GET", "POST"])
async def logout_endpoint(request: Request) -> Response:
    w = _oidc_web(request)
    found = await _params(request, w)
    if isinstance(found, Response):
        return found
    return await run_in_threadpool(_logout, w, found, confirmed=False)


@router.post("/oauth2/logout/confirm", dependencies=[Depends(csrf_protect)])
async def logout_confirm(request: Request) -> Response:
    w = _oidc_web(request)
    form = await request.form()
    found = {k: [v] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    return await run_in_threadpool(_logout, w, found, confirmed=True)


def _logout(w: Web, params: dict[str, list[str]], *, confirmed: bool) -> Response:
    core, ctx = w.rt.core, w.ctx
    try:
        req = logout.parse(core, ctx, params)
    except PageError as exc:
        return _page_error(w, exc.code)
    live = sessions.load(core, ctx, w.cookie(cookies.SESSION))
    if live is not None and not (confirmed or req.matches(live)):
        app = req.client.name if req.client else None
        target = source_of(req.redirect_uri) if req.redirect_uri else None
        headers = {"content-security-policy": csp([target or ""])}
        fields = req.form_fields()
        return w.page("oidc/logout.html", fields=fields, app=app, user=live.user, headers=headers)
    if live is not None:
        sessions.end(core, ctx, live)
    target = req.next_url()
    if target is None:
        response: Response = w.page("oidc/signed_out.html")
    else:
        response = RedirectResponse(target, status_code=303)
    cookies.clear(w.request, response, cookies.SESSION)
    return response
