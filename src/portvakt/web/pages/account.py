"""Security info: methods, recent sign-ins, remembered devices; step-up before changes."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from portvakt.core import enrollment, selfservice, sessions
from portvakt.core.agents import agent_of
from portvakt.errors import Conflict, Denied, Invalid, NotFound, PortvaktError, Throttled
from portvakt.methods.base import Answer
from portvakt.web import cookies
from portvakt.web.deps import Live, W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.forms import (
    Answers,
    Code,
    Id,
    Kind,
    Label,
    OptionalCode,
    PathKind,
    Payload,
    code_looks_valid,
    parse_payload,
)
from portvakt.web.pages.signin import throttle_text

router = APIRouter(dependencies=[Depends(csrf_protect)])
STATUS = {Invalid: 400, Denied: 401, NotFound: 404, Conflict: 409, Throttled: 429}
HOME = "/account"


def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


def account_page(w: Web, live: Live, *, error: PortvaktError | None = None) -> Response:
    info = selfservice.security_info(w.rt.core, w.ctx, user_id=live.user.id)
    registry = w.rt.core.registry
    status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 200)
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


def _step_up_redirect(w: Web, live: Live, next_path: str) -> Response | None:
    """A fresh second factor is required for adding or deleting methods (issue item 7)."""
    info = selfservice.security_info(w.rt.core, w.ctx, user_id=live.user.id)
    if selfservice.is_fresh(w.ctx, live, has_methods=bool(info.methods)):
        return None
    if not info.methods:
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
    redirect = _step_up_redirect(w, live, HOME)
    if redirect is not None:
        return redirect
    try:
        enrollment.remove(w.rt.core, w.ctx, user_id=live.user.id, credential_id=credential_id)
    except (NotFound, Conflict) as exc:
        return account_page(w, live, error=exc)
    return home()


@router.get("/account/methods/add")
def add_choose(w: W, live: Live) -> Response:
    redirect = _step_up_redirect(w, live, "/account/methods/add")
    if redirect is not None:
        return redirect
    registry = w.rt.core.registry
    kinds = [
        kind
        for kind in registry.kinds()
        if kind in w.rt.core.knobs.allowed_kinds and registry.get(kind).capabilities.enrollable
    ]
    return w.page(
        "add_method.html",
        kinds=registry.ordered(kinds),
        starts=starts_of(w, kinds),
        user=live.user,
        live=live,
    )


def starts_of(w: Web, kinds: list[str]) -> set[str]:
    """The kinds whose adding starts with a page of their own (a phone number to fill in)."""
    registry = w.rt.core.registry
    return {kind for kind in kinds if registry.get(kind).capabilities.enroll_fields}


def start_page(  # noqa: PLR0913 - keyword-only: where it posts and what it says
    w: Web,
    kind: str,
    *,
    action: str,
    cancel: str,
    user: object,
    status: int = 200,
    error: str | None = None,
    answers: dict[str, str] | None = None,
) -> Response:
    """A kind's own ``start.html``: the fields it needs before a credential can be begun."""
    return w.page(
        f"methods/{kind}/start.html",
        status=status,
        error=error_text(error) if error else None,
        kind=kind,
        action=action,
        cancel=cancel,
        user=user,
        answers=answers or {},
    )


@router.get("/account/methods/add/{kind}")
def add_start(w: W, live: Live, kind: PathKind) -> Response:
    redirect = _step_up_redirect(w, live, "/account/methods/add")
    if redirect is not None:
        return redirect
    registry = w.rt.core.registry
    if kind not in registry or kind not in starts_of(w, [kind]):
        return w.page("error.html", status=404, error=error_text("not_found"))
    return start_page(w, kind, action="/account/methods/add", cancel=HOME, user=live.user)


@router.post("/account/methods/add")
def add_begin(w: W, live: Live, kind: Kind, answers: Answers) -> Response:
    redirect = _step_up_redirect(w, live, "/account/methods/add")
    if redirect is not None:
        return redirect
    try:
        credential_id = enrollment.begin(
            w.rt.core, w.ctx, user_id=live.user.id, kind=kind, answers=answers
        )
    except Invalid as exc:
        if kind in w.rt.core.registry and starts_of(w, [kind]):
            return start_page(
                w,
                kind,
                action="/account/methods/add",
                cancel=HOME,
                user=live.user,
                status=400,
                error=exc.code,
                answers=answers,
            )
        return account_page(w, live, error=exc)
    # a typed code or a ceremony is confirmed on /confirm; an out-of-band kind waits on /<kind>
    method = w.rt.core.registry.get(kind)
    page = "confirm" if method.capabilities.answer is not Answer.NONE else kind
    return RedirectResponse(f"/account/methods/{credential_id}/{page}", status_code=303)


@router.get("/account/methods/{credential_id}/confirm")
def add_show(w: W, live: Live, credential_id: Id) -> Response:
    return _enroll_page(w, live, credential_id)


@router.post("/account/methods/{credential_id}/confirm")
def add_confirm(
    w: W, live: Live, credential_id: Id, code: OptionalCode = None, payload: Payload = None
) -> Response:
    redirect = _step_up_redirect(w, live, "/account/methods/add")
    if redirect is not None:
        return redirect
    parsed = parse_payload(payload)
    if parsed is None and (code is None or not code_looks_valid(w.rt.core.registry, code)):
        error = "answer_format" if payload is not None else "code_format"
        return _enroll_page(w, live, credential_id, status=400, error=error)
    try:
        enrollment.confirm(
            w.rt.core,
            w.ctx,
            user_id=live.user.id,
            credential_id=credential_id,
            code=code or "",
            payload=parsed,
        )
    except Denied as exc:
        return _enroll_page(w, live, credential_id, status=401, error=exc.code)
    except (NotFound, Throttled) as exc:
        return account_page(w, live, error=exc)
    return home()


def _enroll_page(
    w: Web, live: Live, credential_id: int, *, status: int = 200, error: str | None = None
) -> Response:
    try:
        shown = enrollment.pending_display(
            w.rt.core, w.ctx, user_id=live.user.id, credential_id=credential_id
        )
    except NotFound as exc:
        return account_page(w, live, error=exc)
    return w.page(
        f"methods/{shown.kind}/enroll.html",
        status=status,
        error=error_text(error) if error else None,
        shown=shown,
        action=f"/account/methods/{credential_id}/confirm",
        cancel=HOME,
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
            {m.kind for m in info.methods if m.kind in w.rt.core.knobs.allowed_kinds}
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
def signout(w: W, live: Live) -> Response:
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
