"""Adding a method on Security info: choose a kind, its own start page when it needs one (a
phone number, a key's name), begin, and confirm with the first answer (a typed code or a
ceremony's payload). A session opened with a temporary access pass may do only this."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from portvakt.core import enrollment
from portvakt.errors import Denied, Invalid, NotFound, Throttled
from portvakt.methods.base import Answer
from portvakt.web.deps import Enrolling, W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages import restricted
from portvakt.web.pages.account import HOME, account_page, add_page, home, step_up_redirect
from portvakt.web.pages.forms import (
    Answers,
    Id,
    Kind,
    OptionalCode,
    PathKind,
    Payload,
    code_looks_valid,
    parse_payload,
)

router = APIRouter(dependencies=[Depends(csrf_protect)])
ADD = "/account/methods/add"


@router.get("/account/methods/add")
def add_choose(w: W, live: Enrolling) -> Response:
    redirect = step_up_redirect(w, live, ADD)
    if redirect is not None:
        return redirect
    if live.restricted and restricted.added_since(w, live):  # an app activated it out of band
        return restricted.added_with_pass(w, live)
    return add_page(w, live)


def _has_start(w: Web, kind: str) -> bool:
    registry = w.rt.core.registry
    return kind in registry and bool(registry.get(kind).capabilities.enroll_fields)


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
def add_start(w: W, live: Enrolling, kind: PathKind) -> Response:
    redirect = step_up_redirect(w, live, ADD)
    if redirect is not None:
        return redirect
    if not _has_start(w, kind) or kind not in w.rt.core.knobs.allowed_kinds:
        return w.page("error.html", status=404, error=error_text("not_found"))
    return start_page(w, kind, action=ADD, cancel=ADD, user=live.user)


@router.post("/account/methods/add")
def add_begin(w: W, live: Enrolling, kind: Kind, answers: Answers) -> Response:
    redirect = step_up_redirect(w, live, ADD)
    if redirect is not None:
        return redirect
    try:
        credential_id = enrollment.begin(
            w.rt.core, w.ctx, user_id=live.user.id, kind=kind, answers=answers
        )
    except Invalid as exc:
        if _has_start(w, kind):
            return start_page(
                w,
                kind,
                action=ADD,
                cancel=ADD,
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
def add_show(w: W, live: Enrolling, credential_id: Id) -> Response:
    return _enroll_page(w, live, credential_id)


@router.post("/account/methods/{credential_id}/confirm")
def add_confirm(
    w: W, live: Enrolling, credential_id: Id, code: OptionalCode = None, payload: Payload = None
) -> Response:
    redirect = step_up_redirect(w, live, ADD)
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
    if live.restricted:
        return restricted.added_with_pass(w, live)
    return home()


def _enroll_page(
    w: Web, live: Enrolling, credential_id: int, *, status: int = 200, error: str | None = None
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
