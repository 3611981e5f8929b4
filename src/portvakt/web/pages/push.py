"""Push pages: the browser waits for the approval at sign-in, and for a new device's test
approval on Security info. Both pages work without JavaScript (a refresh and a button) and
move on by themselves with it (static/push.js over server-sent events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.core import push, pushdevice, signin
from portvakt.errors import Denied, Invalid, NotFound, Throttled
from portvakt.web import cookies
from portvakt.web.deps import Live, W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.account import safe_next
from portvakt.web.pages.forms import Flag, Id
from portvakt.web.pages.signin import after_progress, expired, factor_page, throttle_text
from portvakt.web.sse import Snapshot, watch

router = APIRouter(dependencies=[Depends(csrf_protect)])
Tx = Annotated[str, Query(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


def _pending(w: Web) -> signin.PendingSignIn:
    return signin.load(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))


@router.post("/signin/push")
def push_start(w: W) -> Response:
    try:
        pending = _pending(w)
        started = push.start(w.rt.core, w.ctx, push.for_signin(pending))
    except NotFound as exc:
        return expired(w, exc.code)
    except Invalid as exc:
        return factor_page(w, pending, status=400, error=error_text(exc.code))
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return factor_page(w, pending, status=429, error=text, headers=headers)
    return RedirectResponse(f"/signin/push/wait?tx={started.tx}", status_code=303)


@router.get("/signin/push/wait")
def push_wait(w: W, tx: Tx) -> Response:
    try:
        shown = push.view(w.rt.core, w.ctx, push.for_signin(_pending(w)), tx)
    except NotFound as exc:
        return expired(w, exc.code)
    return _wait_page(w, shown, SIGNIN_LINKS)


@dataclass(frozen=True, slots=True)
class Links:
    """Where the shared waiting page sends the browser (sign-in or step-up)."""

    base: str  # /signin/push or /account/verify/push
    other_way: str
    remember: bool
    next_path: str = ""

    def url(self, action: str, tx: str) -> str:
        query = f"tx={quote(tx)}" + (f"&next={quote(self.next_path)}" if self.next_path else "")
        return f"{self.base}/{action}?{query}"


SIGNIN_LINKS = Links("/signin/push", "/signin/factor", remember=True)


def _wait_page(w: Web, shown: push.PushView, links: Links, *, status: int = 200) -> Response:
    message = None if shown.state in {"pending", "approved"} else f"push_{shown.state}"
    if shown.reason == "wrong_number":
        message = "push_wrong_number"
    return w.page(
        "methods/push/wait.html",
        status=status,
        shown=shown,
        links=links,
        error=error_text(message) if message else None,
        remember_days=w.rt.settings.remember_device_days if links.remember else 0,
    )


@router.get("/signin/push/events")
async def push_events(w: W, tx: Tx) -> Response:
    pending = await run_in_threadpool(_pending, w)

    waiter = push.for_signin(pending)

    async def read() -> Snapshot:
        shown = await run_in_threadpool(push.view, w.rt.core, w.ctx, waiter, tx)
        left = (shown.expires_at - w.rt.clock.now()).total_seconds() + 0.5
        return Snapshot("state", {"state": shown.state}, shown.state != "pending", left)

    return await watch(w.request, w.rt.core.notifier, f"tx:{tx}", read)


@router.post("/signin/push/complete")
def push_complete(w: W, tx: Tx, remember: Flag = None) -> Response:
    try:
        pending = _pending(w)
        progress = push.finish(w.rt.core, w.ctx, pending, tx, remember=remember == "on")
    except NotFound as exc:
        return expired(w, exc.code)
    except Denied:
        try:
            shown = push.view(w.rt.core, w.ctx, push.for_signin(pending), tx)
        except NotFound as exc:
            return expired(w, exc.code)
        status = 409 if shown.state != "pending" else 202
        return _wait_page(w, shown, SIGNIN_LINKS, status=status)
    return after_progress(w, progress)


# -- step-up on Security info with the app -----------------------------------------------------


def _step_up_links(w: Web) -> Links:
    next_path = safe_next(w.request.query_params.get("next"))
    return Links(
        "/account/verify/push",
        f"/account/verify?next={quote(next_path)}",
        remember=False,
        next_path=next_path,
    )


@router.post("/account/verify/push")
def step_up_start(w: W, live: Live) -> Response:
    links = _step_up_links(w)
    try:
        started = push.start(w.rt.core, w.ctx, push.for_step_up(live))
    except Invalid as exc:
        return w.page("error.html", status=400, error=error_text(exc.code))
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return w.page("error.html", status=429, error=text, headers=headers)
    return RedirectResponse(links.url("wait", started.tx), status_code=303)


@router.get("/account/verify/push/wait")
def step_up_wait(w: W, live: Live, tx: Tx) -> Response:
    try:
        shown = push.view(w.rt.core, w.ctx, push.for_step_up(live), tx)
    except NotFound:
        return RedirectResponse("/account", status_code=303)
    return _wait_page(w, shown, _step_up_links(w))


@router.get("/account/verify/push/events")
async def step_up_events(w: W, live: Live, tx: Tx) -> Response:
    waiter = push.for_step_up(live)

    async def read() -> Snapshot:
        shown = await run_in_threadpool(push.view, w.rt.core, w.ctx, waiter, tx)
        left = (shown.expires_at - w.rt.clock.now()).total_seconds() + 0.5
        return Snapshot("state", {"state": shown.state}, shown.state != "pending", left)

    return await watch(w.request, w.rt.core.notifier, f"tx:{tx}", read)


@router.post("/account/verify/push/complete")
def step_up_complete(w: W, live: Live, tx: Tx) -> Response:
    links = _step_up_links(w)
    try:
        push.finish_step_up(w.rt.core, w.ctx, live, tx)
    except Denied:
        try:
            shown = push.view(w.rt.core, w.ctx, push.for_step_up(live), tx)
        except NotFound:
            return RedirectResponse("/account", status_code=303)
        return _wait_page(w, shown, links, status=409 if shown.state != "pending" else 202)
    return RedirectResponse(links.next_path or "/account", status_code=303)


# -- adding a device on Security info ----------------------------------------------------------


@router.get("/account/methods/{credential_id}/push")
def activation_page(w: W, live: Live, credential_id: Id) -> Response:
    try:
        shown = pushdevice.activation(
            w.rt.core, w.ctx, user_id=live.user.id, credential_id=credential_id
        )
    except NotFound:
        return RedirectResponse("/account", status_code=303)
    if shown.state == "active":
        return RedirectResponse("/account", status_code=303)
    return w.page(
        "methods/push/enroll.html",
        shown=shown,
        user=live.user,
        live=live,
        error=error_text("enrollment_not_found") if shown.state == "expired" else None,
    )


@router.get("/account/methods/{credential_id}/push/events")
async def activation_events(w: W, live: Live, credential_id: Id) -> Response:
    async def read() -> Snapshot:
        shown = await run_in_threadpool(
            pushdevice.activation,
            w.rt.core,
            w.ctx,
            user_id=live.user.id,
            credential_id=credential_id,
        )
        data = {"state": shown.state, "number": shown.number}
        return Snapshot("state", data, shown.state in {"active", "expired"})

    return await watch(w.request, w.rt.core.notifier, f"user:{live.user.id}", read)
