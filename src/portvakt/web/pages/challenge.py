"""Doors for every kind that issues a challenge (push today): the browser waits for the answer
at sign-in (``/signin/<kind>``) and at step-up (``/account/verify/<kind>``), and for a new
credential's out-of-band activation on Security info. The waiting pages work without
JavaScript (a refresh and a button) and move on by themselves with it (static/push.js over
server-sent events). Nothing here names a kind: the path says which, the registry decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.core import challenged, devices, signin
from portvakt.core.challenges import Shown
from portvakt.errors import Denied, Invalid, NotFound, Throttled
from portvakt.web import cookies
from portvakt.web.deps import Enrolling, Live, W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.account import safe_next
from portvakt.web.pages.forms import Flag, Id
from portvakt.web.pages.signin import after_progress, expired, factor_page, throttle_text
from portvakt.web.sse import Snapshot, watch

router = APIRouter(dependencies=[Depends(csrf_protect)])
Tx = Annotated[str, Query(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Kind = Annotated[str, Path(min_length=2, max_length=24, pattern=r"^[a-z][a-z0-9_]+$")]


def challenge_kind(w: Web, kind: str) -> None:
    """``NotFound`` unless ``kind`` is a registered kind that issues challenges."""
    registry = w.rt.core.registry
    if kind not in registry or not registry.get(kind).capabilities.challenge:
        raise NotFound("not_found")


def pending_signin(w: Web) -> signin.PendingSignIn:
    return signin.load(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))


@dataclass(frozen=True, slots=True)
class Links:
    """Where the shared waiting page sends the browser (sign-in or step-up)."""

    base: str  # /signin/<kind> or /account/verify/<kind>
    other_way: str
    remember: bool
    next_path: str = ""

    def url(self, action: str, tx: str) -> str:
        query = f"tx={quote(tx)}" + (f"&next={quote(self.next_path)}" if self.next_path else "")
        return f"{self.base}/{action}?{query}"


def signin_links(kind: str) -> Links:
    return Links(f"/signin/{kind}", "/signin/factor?other=1", remember=True)


def wait_page(  # noqa: PLR0913 - keyword-only: what to say
    w: Web,
    shown: Shown,
    links: Links,
    *,
    status: int = 200,
    error: str | None = None,
    text: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The kind's waiting page: a refusal's ``error`` code (or a ready ``text``), else what
    the challenge's state says."""
    message = error or (None if shown.state in {"pending", "approved"} else f"push_{shown.state}")
    if shown.reason == "wrong_number":
        message = "push_wrong_number"
    return w.page(
        f"methods/{shown.kind}/wait.html",
        status=status,
        headers=headers,
        shown=shown,
        links=links,
        error=text or (error_text(message) if message else None),
        remember_days=w.rt.settings.remember_device_days if links.remember else 0,
    )


def not_found(w: Web) -> Response:
    return w.page("error.html", status=404, error=error_text("not_found"))


@router.post("/signin/{kind}")
def signin_start(w: W, kind: Kind) -> Response:
    try:
        challenge_kind(w, kind)
        pending = pending_signin(w)
        started = challenged.start_signin(w.rt.core, w.ctx, pending, kind)
    except NotFound as exc:
        return not_found(w) if exc.code == "not_found" else expired(w, exc.code)
    except Invalid as exc:
        return factor_page(w, pending, status=400, error=error_text(exc.code), other=True)
    except Throttled as exc:  # paused or rate limited: steered to the other ways in
        text, headers = throttle_text(w, exc)
        return factor_page(w, pending, status=429, error=text, headers=headers, other=True)
    return RedirectResponse(signin_links(kind).url("wait", started.id), status_code=303)


@router.get("/signin/{kind}/wait")
def signin_wait(w: W, kind: Kind, tx: Tx) -> Response:
    try:
        challenge_kind(w, kind)
        shown = challenged.view_signin(w.rt.core, w.ctx, pending_signin(w), tx)
    except NotFound as exc:
        return not_found(w) if exc.code == "not_found" else expired(w, exc.code)
    return wait_page(w, shown, signin_links(kind))


async def _state_events(w: Web, tx: str, read_shown: object) -> Response:
    async def read() -> Snapshot:
        shown: Shown = await run_in_threadpool(read_shown)  # type: ignore[arg-type]
        left = (shown.expires_at - w.rt.clock.now()).total_seconds() + 0.5
        return Snapshot("state", {"state": shown.state}, shown.state != "pending", left)

    return await watch(w.request, w.rt.core.notifier, f"tx:{tx}", read)


@router.get("/signin/{kind}/events")
async def signin_events(w: W, kind: Kind, tx: Tx) -> Response:
    pending = await run_in_threadpool(pending_signin, w)
    return await _state_events(w, tx, lambda: challenged.view_signin(w.rt.core, w.ctx, pending, tx))


@router.post("/signin/{kind}/complete")
def signin_complete(w: W, kind: Kind, tx: Tx, remember: Flag = None) -> Response:
    try:
        challenge_kind(w, kind)
        pending = pending_signin(w)
        progress = challenged.finish_signin(
            w.rt.core,
            w.ctx,
            pending,
            tx,
            remember=remember == "on",
            old_session=w.cookie(cookies.SESSION),
        )
    except NotFound as exc:
        return not_found(w) if exc.code == "not_found" else expired(w, exc.code)
    except Denied:
        try:
            shown = challenged.view_signin(w.rt.core, w.ctx, pending, tx)
        except NotFound as exc:
            return expired(w, exc.code)
        status = 409 if shown.state != "pending" else 202
        return wait_page(w, shown, signin_links(kind), status=status)
    return after_progress(w, progress)


# -- step-up on Security info ------------------------------------------------------------------


def step_up_links(w: Web, kind: str) -> Links:
    next_path = safe_next(w.request.query_params.get("next"))
    return Links(
        f"/account/verify/{kind}",
        f"/account/verify?next={quote(next_path)}",
        remember=False,
        next_path=next_path,
    )


@router.post("/account/verify/{kind}")
def step_up_start(w: W, live: Live, kind: Kind) -> Response:
    links = step_up_links(w, kind)
    try:
        challenge_kind(w, kind)
        started = challenged.start_step_up(w.rt.core, w.ctx, live, kind)
    except NotFound:
        return not_found(w)
    except Invalid as exc:
        return w.page("error.html", status=400, error=error_text(exc.code))
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return w.page("error.html", status=429, error=text, headers=headers)
    return RedirectResponse(links.url("wait", started.id), status_code=303)


@router.get("/account/verify/{kind}/wait")
def step_up_wait(w: W, live: Live, kind: Kind, tx: Tx) -> Response:
    try:
        challenge_kind(w, kind)
        shown = challenged.view_step_up(w.rt.core, w.ctx, live, tx)
    except NotFound:
        return RedirectResponse("/account", status_code=303)
    return wait_page(w, shown, step_up_links(w, kind))


@router.get("/account/verify/{kind}/events")
async def step_up_events(w: W, live: Live, kind: Kind, tx: Tx) -> Response:
    return await _state_events(w, tx, lambda: challenged.view_step_up(w.rt.core, w.ctx, live, tx))


@router.post("/account/verify/{kind}/complete")
def step_up_complete(w: W, live: Live, kind: Kind, tx: Tx) -> Response:
    links = step_up_links(w, kind)
    try:
        challenge_kind(w, kind)
        challenged.finish_step_up(w.rt.core, w.ctx, live, tx)
    except NotFound:
        return RedirectResponse("/account", status_code=303)
    except Denied:
        try:
            shown = challenged.view_step_up(w.rt.core, w.ctx, live, tx)
        except NotFound:
            return RedirectResponse("/account", status_code=303)
        return wait_page(w, shown, links, status=409 if shown.state != "pending" else 202)
    return RedirectResponse(links.next_path or "/account", status_code=303)


# -- adding a credential that is activated out of band (an app) ----------------------------------

DONE = frozenset({"active", "expired"})


@router.get("/account/methods/{credential_id}/{kind}")
def enrollment_page(w: W, live: Enrolling, credential_id: Id, kind: Kind) -> Response:
    try:
        shown = devices.enrollment_display(
            w.rt.core, w.ctx, user_id=live.user.id, credential_id=credential_id
        )
    except NotFound:
        return RedirectResponse("/account", status_code=303)
    state = shown.display.get("state")
    if shown.kind != kind or state == "active":
        return RedirectResponse("/account", status_code=303)
    return w.page(
        f"methods/{shown.kind}/enroll.html",
        shown=shown,
        events=f"/account/methods/{credential_id}/{kind}/events",
        done="/account",
        cancel="/account",
        user=live.user,
        live=live,
        error=error_text("enrollmentnot_found") if state == "expired" else None,
    )


@router.get("/account/methods/{credential_id}/{kind}/events")
async def enrollment_events(w: W, live: Enrolling, credential_id: Id, kind: Kind) -> Response:
    async def read() -> Snapshot:
        shown = await run_in_threadpool(
            devices.enrollment_display,
            w.rt.core,
            w.ctx,
            user_id=live.user.id,
            credential_id=credential_id,
        )
        if shown.kind != kind:
            raise NotFound("enrollmentnot_found")
        state = shown.display.get("state")
        data = {"state": state, "number": shown.display.get("number")}
        return Snapshot("state", data, state in DONE)

    return await watch(w.request, w.rt.core.notifier, f"user:{live.user.id}", read)
