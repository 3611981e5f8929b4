"""Security info: methods, recent sign-ins, remembered devices; step-up before changes."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from portvakt.core import enrollment, selfservice, sessions
from portvakt.core.agents import agent_of
from portvakt.errors import Conflict, Denied, Invalid, NotFound, PortvaktError, Throttled
from portvakt.methods.base import Grant
from portvakt.web import cookies
from portvakt.web.deps import Enrolling, Live, W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.forms import Code, Id, Kind, Label, code_looks_valid
from portvakt.web.pages.signin import throttle_text

router = APIRouter(dependencies=[Depends(csrf_protect)])
STATUS = {Invalid: 400, Denied: 401, NotFound: 404, Conflict: 409, Throttled: 429}
HOME = "/account"


def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


def account_page(w: Web, live: Enrolling, *, error: PortvaktError | None = None) -> Response:
    status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 200)
    if live.restricted:  # a session that may only add a method sees only that page
        return add_page(w, live, status=status, error=error)
    info = selfservice.security_info(w.rt.core, w.ctx, user_id=live.user.id)
    registry = w.rt.core.registry
    return w.page(
        "account.html",
        status=status,
        error=error_text(error.code) if error else None,
        live=live,
        info=info,
        user=live.user,
        describe_agent=describe_agent,
        fallback={kind for kind in registry.kinds() if registry.is_fallback(kind)},
    )


@router.get("/account")
def account(w: W, live: Live) -> Response:
    return account_page(w, live)


def step_up_redirect(w: Web, live: Enrolling, next_path: str) -> Response | None:
    """A fresh second factor is required for adding or deleting methods (issue item 7). A
    session that may only add a method was opened for that just now (it lasts an hour at
    most: ``sessions.RESTRICTED_FOR``); a temporary access pass never proves a step-up."""
    if live.restricted:
        return None
    info = selfservice.security_info(w.rt.core, w.ctx, user_id=live.user.id)
    registry = w.rt.core.registry
    methods = [m for m in info.methods if registry.grants(m.kind) is Grant.FULL]
    if selfservice.is_fresh(w.ctx, live, has_methods=bool(methods)):
        return None
    if not methods:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(f"/account/verify?next={quote(next_path)}", status_code=303)


@router.post("/account/methods/{credential_id}/rename")
def rename(w: W, live: Live, credential_id: Id, label: Label) -> Response:
    try:
        enrollment.rename(
            w.rt.core, w.ctx, user_id=live.user.id, credential_id=credential_id, label=label
        )
    except (Invalid, NotFound) as exc:
        return account_page(w, live, error=exc)
    return home()


@router.post("/account/methods/{credential_id}/default")
def make_default(w: W, live: Live, credential_id: Id) -> Response:
    try:
        enrollment.set_default(w.rt.core, w.ctx, user_id=live.user.id, credential_id=credential_id)
    except NotFound as exc:
        return account_page(w, live, error=exc)
    return home()


@router.post("/account/methods/{credential_id}/delete")
def delete_method(w: W, live: Live, credential_id: Id) -> Response:
    redirect = step_up_redirect(w, live, HOME)
    if redirect is not None:
        return redirect
    try:
        enrollment.remove(w.rt.core, w.ctx, user_id=live.user.id, credential_id=credential_id)
    except (NotFound, Conflict) as exc:
        return account_page(w, live, error=exc)
    return home()


def add_page(
    w: Web, live: Enrolling, *, status: int = 200, error: PortvaktError | None = None
) -> Response:
    """The kinds people add themselves; a restricted session (a temporary access pass) is
    offered no fallback kind: it is there to add a way to sign in day to day."""
    registry = w.rt.core.registry
    kinds = [
        kind
        for kind in registry.kinds()
        if kind in w.rt.core.knobs.allowed_kinds
        and registry.get(kind).capabilities.enrollable
        and not (live.restricted and registry.is_fallback(kind))
    ]
    return w.page(
        "add_method.html",
        status=status,
        error=error_text(error.code) if error else None,
        kinds=registry.ordered(kinds),
        starts={kind for kind in kinds if registry.get(kind).capabilities.enroll_fields},
        user=live.user,
        live=live,
    )


@router.get("/account/verify")
def verify_form(w: W, live: Live) -> Response:
    return _verify_page(w, live)


def _verify_page(
    w: Web,
    live: Live,
    *,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    info = selfservice.security_info(w.rt.core, w.ctx, user_id=live.user.id)
    return w.page(
        "verify.html",
        status=status,
        error=error,
        headers=headers,
        next_path=safe_next(w.request.query_params.get("next")),
        kinds=w.rt.core.registry.ordered(
            {
                m.kind
                for m in info.methods
                if m.kind in w.rt.core.knobs.allowed_kinds
                and w.rt.core.registry.grants(m.kind) is Grant.FULL
            }
        ),
        user=live.user,
        live=live,
    )


@router.post("/account/verify")
def verify_submit(w: W, live: Live, code: Code, kind: Kind = "") -> Response:
    """``kind``: the form's; none means any of the person's typed-code kinds."""
    if not code_looks_valid(w.rt.core.registry, code, kind or None):
        return _verify_page(w, live, status=400, error=error_text("code_format"))
    try:
        selfservice.step_up(w.rt.core, w.ctx, live, kind=kind, code=code)
    except Denied as exc:
        return _verify_page(w, live, status=401, error=error_text(exc.code))
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return _verify_page(w, live, status=429, error=text, headers=headers)
    return RedirectResponse(safe_next(w.request.query_params.get("next")), status_code=303)


@router.post("/account/devices/{device_id}/revoke")
def revoke_device(w: W, live: Live, device_id: Id) -> Response:
    try:
        selfservice.revoke_device(w.rt.core, w.ctx, user_id=live.user.id, device_id=device_id)
    except NotFound as exc:
        return account_page(w, live, error=exc)
    return home()


@router.post("/account/signout-everywhere")
def signout_everywhere(w: W, live: Live) -> Response:
    sessions.end_everywhere(w.rt.core, w.ctx, live.user.id)
    response = RedirectResponse("/signin", status_code=303)
    cookies.clear(w.request, response, cookies.SESSION)
    cookies.clear(w.request, response, cookies.DEVICE)
    return response


@router.post("/signout")
def signout(w: W, live: Enrolling) -> Response:
    sessions.end(w.rt.core, w.ctx, live)
    response = RedirectResponse("/signin", status_code=303)
    cookies.clear(w.request, response, cookies.SESSION)
    return response


def safe_next(value: str | None) -> str:
    """Only local paths: no scheme, no host, no ``//`` or backslash tricks (open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if len(value) > 512 or any(ord(c) < 32 for c in value):
        return HOME
    return value


def describe_agent(agent: str | None) -> str:
    """'Firefox 128.0 · Windows' from a User-Agent header, for the sign-in history."""
    if not agent:
        return ""
    found = agent_of(agent)
    return f"{found.browser} · {found.system_family}".strip()
