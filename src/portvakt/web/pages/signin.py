"""Sign-in pages: password → second factor or activation → Security info."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.core import challenged, passwordless, signin
from portvakt.core import sessions as core_sessions
from portvakt.domain import SignInStage
from portvakt.errors import Denied, NotFound, Throttled
from portvakt.web import cookies
from portvakt.web.deps import W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.forms import (
    Code,
    Flag,
    Kind,
    Password,
    Username,
    code_looks_valid,
)

router = APIRouter(dependencies=[Depends(csrf_protect)])

NEXT_PAGE = {
    SignInStage.FACTOR: "/signin/factor",
    SignInStage.ACTIVATION: "/signin/activate",
    SignInStage.DONE: "/account",
}


def after_progress(w: Web, progress: signin.Progress) -> Response:
    """Set the cookies a step produced and send the browser to the next page: once signed
    in, back to the app whose authorization request is waiting, if there is one."""
    target = NEXT_PAGE[progress.stage]
    if progress.stage is SignInStage.DONE and w.cookie(cookies.AUTHZ):
        target = "/oauth2/resume"
    response = RedirectResponse(target, status_code=303)
    if progress.signin_token:
        cookies.write(w.request, response, cookies.SIGNIN, progress.signin_token)
    if progress.session_token:  # the old session ended in the same transaction
        cookies.clear(w.request, response, cookies.SIGNIN)
        cookies.write(w.request, response, cookies.SESSION, progress.session_token)
    if progress.device_token:
        max_age = w.rt.settings.remember_device_days * 86400
        cookies.write(w.request, response, cookies.DEVICE, progress.device_token, max_age=max_age)
    return response


@router.get("/signin")
def signin_form(w: W) -> Response:
    """The first step. An app that demanded a fresh sign-in (``prompt=login``, ``max_age``)
    sends ``login=1``: then the form is shown even to a signed-in browser."""
    query = w.request.query_params
    fresh = query.get("login") == "1"
    if not fresh and core_sessions.load(w.rt.core, w.ctx, w.cookie(cookies.SESSION)):
        waiting = w.cookie(cookies.AUTHZ) is not None
        return RedirectResponse("/oauth2/resume" if waiting else "/account", status_code=303)
    hint = (query.get("login_hint") or "")[:128]
    request = w.waiting()
    app = request.client.name if request is not None else None
    first = passwordless.offer(w.rt.core, w.ctx)
    return w.page("signin.html", username=hint or None, app_name=app, first=first)


@router.post("/signin")
async def signin_submit(w: W, username: Username, password: Password) -> Response:
    """The password step runs on the thread pool; a delay it asks for (the per-name delay,
    the failure floor: core.passwordbudget) is awaited here, holding no thread."""
    try:
        progress = await run_in_threadpool(
            signin.submit_password,
            w.rt.core,
            w.ctx,
            username=username,
            password=password,
            device_token=w.cookie(cookies.DEVICE),
            old_session=w.cookie(cookies.SESSION),
        )
    except signin.WrongPassword as exc:
        await asyncio.sleep(exc.wait)
        return w.page("signin.html", status=401, error=error_text(exc.code), username=username)
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return w.page("signin.html", status=429, error=text, headers=headers, username=username)
    if progress.wait:
        await asyncio.sleep(progress.wait)
    response = await run_in_threadpool(after_progress, w, progress)
    registry, kind = w.rt.core.registry, progress.default_kind or ""
    if kind in registry and registry.get(kind).capabilities.challenge:  # a push: sent at once
        started = await run_in_threadpool(
            challenged.start_default, w.rt.core, w.ctx, progress.signin_token
        )
        if started is not None:
            response.headers["location"] = f"/signin/{started.kind}/wait?tx={quote(started.id)}"
    return response


@router.get("/signin/factor")
def factor_form(w: W) -> Response:
    try:
        pending = signin.load(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))
    except NotFound as exc:
        return expired(w, exc.code)
    if pending.stage is not SignInStage.FACTOR:
        return RedirectResponse("/signin/activate", status_code=303)
    return factor_page(w, pending, other=w.request.query_params.get("other") == "1")


def factor_page(  # noqa: PLR0913 - keyword-only: the answer and which ways to show
    w: Web,
    pending: signin.PendingSignIn,
    *,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
    other: bool = False,
) -> Response:
    """The default way in (or ``kind``, the one just tried) with a link to the others; with
    ``other`` every way in the person has, the one they used last first."""
    every = w.rt.core.registry.ordered(pending.decision.offered_kinds)
    if other:
        last = pending.last_kind
        kinds = [last, *(k for k in every if k != last)] if last in every else every
    else:
        shown = kind if kind in every else pending.default_kind
        kinds = [shown] if shown in every else every
    return w.page(
        "factor.html",
        status=status,
        error=error,
        headers=headers,
        kinds=kinds,
        other=other,
        more=len(every) > len(kinds),
        last_kind=pending.last_kind if other else None,
        user=pending.user,
        remember_days=pending.decision.remember_device_days,
    )


@router.post("/signin/factor")
def factor_submit(w: W, code: Code, kind: Kind = "", remember: Flag = None) -> Response:
    """``kind``: the form's; none means any typed-code kind offered to the person."""
    try:
        pending = signin.load(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))
        if not code_looks_valid(w.rt.core.registry, code, kind or None):
            text = error_text("code_format")
            return factor_page(w, pending, status=400, error=text, kind=kind)
        progress = signin.submit_code(
            w.rt.core,
            w.ctx,
            pending,
            kind=kind,
            code=code,
            remember=remember == "on",
            old_session=w.cookie(cookies.SESSION),
        )
    except NotFound as exc:
        return expired(w, exc.code)
    except Denied as exc:
        return factor_page(w, pending, status=401, error=error_text(exc.code), kind=kind)
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return factor_page(w, pending, status=429, error=text, headers=headers, kind=kind)
    return after_progress(w, progress)


@router.post("/signin/cancel")
def signin_cancel(w: W) -> Response:
    signin.cancel(w.rt.core, w.cookie(cookies.SIGNIN))
    response = RedirectResponse("/signin", status_code=303)
    cookies.clear(w.request, response, cookies.SIGNIN)
    return response


def expired(w: Web, code: str) -> Response:
    response = w.page("signin.html", status=410, error=error_text(code))
    cookies.clear(w.request, response, cookies.SIGNIN)
    return response


def throttle_text(w: Web, exc: Throttled) -> tuple[str, dict[str, str]]:
    minutes = max(1, (exc.retry_after + 59) // 60)
    text = w.gettext(error_text(exc.code)) % {"minutes": minutes}
    return text, {"Retry-After": str(exc.retry_after)}
