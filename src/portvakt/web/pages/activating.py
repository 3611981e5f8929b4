"""First activation during sign-in: the person has no usable method and adds one now, on the
kinds policy offers (a kind's own start page first when it needs one), confirmed by the first
answer or by an app out of band; or skips it while the grace period lasts."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from portvakt.core import activation, devices, signin
from portvakt.domain import SignInStage
from portvakt.errors import Denied, Invalid, NotFound, Throttled
from portvakt.web import cookies
from portvakt.web.deps import W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.forms import (
    Answers,
    Kind,
    OptionalCode,
    PathKind,
    Payload,
    code_looks_valid,
    parse_payload,
)
from portvakt.web.pages.signin import after_progress, expired
from portvakt.web.sse import Snapshot, watch

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/signin/activate")
def activate_form(w: W) -> Response:
    try:
        pending = signin.load(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))
    except NotFound as exc:
        return expired(w, exc.code)
    if pending.stage is not SignInStage.ACTIVATION:
        return RedirectResponse("/signin/factor", status_code=303)
    kinds = activation.kinds(w.rt.core, pending)
    registry = w.rt.core.registry
    starts = {kind for kind in kinds if registry.get(kind).capabilities.enroll_fields}
    return w.page(
        "activate.html",
        decision=pending.decision,
        user=pending.user,
        kinds=kinds,
        starts=starts,
        claimable=bool(activation.token_kinds(w.rt.core, pending)),
    )


@router.get("/signin/activate/start/{kind}")
def activate_start(w: W, kind: PathKind) -> Response:
    """A kind's own first page (a phone number to fill in) before it can be begun."""
    try:
        pending = signin.load(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))
    except NotFound as exc:
        return expired(w, exc.code)
    kinds = activation.kinds(w.rt.core, pending)
    if kind not in kinds or not w.rt.core.registry.get(kind).capabilities.enroll_fields:
        return w.page("error.html", status=404, error=error_text("not_found"))
    return _start_page(w, kind, pending.user)


def _start_page(
    w: Web, kind: str, user: object, *, status: int = 200, error: str | None = None, **answers: str
) -> Response:
    return w.page(
        f"methods/{kind}/start.html",
        status=status,
        error=error_text(error) if error else None,
        kind=kind,
        action="/signin/activate/begin",
        cancel="/signin/activate",
        user=user,
        answers=answers,
    )


@router.post("/signin/activate/skip")
def activate_skip(w: W) -> Response:
    try:
        progress = signin.skip_activation(
            w.rt.core,
            w.ctx,
            token=w.cookie(cookies.SIGNIN),
            old_session=w.cookie(cookies.SESSION),
        )
    except NotFound as exc:
        return expired(w, exc.code)
    except Denied as exc:
        return w.page("error.html", status=403, error=error_text(exc.code))
    return after_progress(w, progress)


@router.post("/signin/activate/begin")
def activate_begin(w: W, kind: Kind, answers: Answers) -> Response:
    try:
        activation.begin(
            w.rt.core, w.ctx, token=w.cookie(cookies.SIGNIN), kind=kind, answers=answers
        )
    except NotFound as exc:
        return expired(w, exc.code)
    except Invalid as exc:
        registry = w.rt.core.registry
        if kind in registry and registry.get(kind).capabilities.enroll_fields:
            user = activation.pending(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN)).user
            return _start_page(w, kind, user, status=400, error=exc.code, **answers)
        return w.page("error.html", status=400, error=error_text(exc.code))
    return RedirectResponse("/signin/activate/confirm", status_code=303)


@router.get("/signin/activate/confirm")
def activate_show(w: W) -> Response:
    return _enroll_page(w)


@router.post("/signin/activate/confirm")
def activate_confirm(w: W, code: OptionalCode = None, payload: Payload = None) -> Response:
    parsed = parse_payload(payload)
    if payload is not None and parsed is None:
        return _enroll_page(w, status=400, error=error_text("answer_format"))
    if parsed is None and code is not None and not code_looks_valid(w.rt.core.registry, code):
        return _enroll_page(w, status=400, error=error_text("code_format"))
    try:
        progress = activation.confirm(
            w.rt.core,
            w.ctx,
            token=w.cookie(cookies.SIGNIN),
            code=code,
            payload=parsed,
            old_session=w.cookie(cookies.SESSION),
        )
    except NotFound as exc:
        return expired(w, exc.code)
    except Denied as exc:
        status = 202 if exc.code == "not_ready" else 401
        return _enroll_page(w, status=status, error=error_text(exc.code))
    except Throttled as exc:
        return expired(w, exc.code)
    return after_progress(w, progress)


def _shown(w: Web) -> devices.EnrollmentShown:
    pending = activation.pending(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))
    if pending.pending_credential_id is None:
        raise NotFound("signin_expired")
    return devices.enrollment_display(
        w.rt.core, w.ctx, user_id=pending.user.id, credential_id=pending.pending_credential_id
    )


@router.get("/signin/activate/events")
async def activate_events(w: W) -> Response:
    """The pending credential's state while an app activates it out of band."""
    pending = await run_in_threadpool(
        activation.pending, w.rt.core, w.ctx, w.cookie(cookies.SIGNIN)
    )

    async def read() -> Snapshot:
        shown = await run_in_threadpool(_shown, w)
        state = shown.display.get("state")
        data = {"state": state, "number": shown.display.get("number")}
        return Snapshot("state", data, state in {"active", "expired"})

    return await watch(w.request, w.rt.core.notifier, f"user:{pending.user.id}", read)


def _enroll_page(w: Web, *, status: int = 200, error: str | None = None) -> Response:
    try:
        shown = _shown(w)
    except NotFound as exc:
        return expired(w, exc.code)
    return w.page(
        f"methods/{shown.kind}/enroll.html",
        status=status,
        error=error,
        shown=shown,
        action="/signin/activate/confirm",
        cancel="/signin/activate",
        events="/signin/activate/events",
        done=None,
    )
