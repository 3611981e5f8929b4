"""Add a hardware token you were given (an unassigned token of the operator's inventory) with
its serial number and codes, or one touch of a key that types its code: on Security info, or
as the first method at activation during sign-in. The token's kind judges the codes
(``core.tokenclaim``); these pages name no kind."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response

from portvakt.core import activation, signin, tokenclaim
from portvakt.errors import Denied, NotFound, Throttled
from portvakt.web import cookies
from portvakt.web.deps import Live, W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.account import home, step_up_redirect
from portvakt.web.pages.forms import OptionalCode
from portvakt.web.pages.signin import after_progress, expired, throttle_text

router = APIRouter(dependencies=[Depends(csrf_protect)])
PATH = "/account/tokens/claim"
ACTIVATE = "/signin/activate/claim"
Serial = Annotated[str, Form(max_length=64)]


def _page(
    w: Web,
    *,
    action: str,
    cancel: str,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
    **context: object,
) -> Response:
    return w.page(
        "claim_token.html",
        status=status,
        error=error,
        headers=headers,
        action=action,
        cancel=cancel,
        max_code=w.rt.core.registry.max_code_length("web"),
        **context,
    )


def _codes(*given: str | None) -> list[str]:
    return [c.strip() for c in given if c and c.strip()]


@router.get(PATH)
def claim_form(w: W, live: Live) -> Response:
    redirect = step_up_redirect(w, live, PATH)
    if redirect is not None:
        return redirect
    if not any(k in w.rt.core.knobs.allowed_kinds for k in w.rt.core.registry.token_kinds()):
        return home()
    return _page(w, action=PATH, cancel="/account", user=live.user, live=live)


@router.post(PATH)
def claim(
    w: W, live: Live, serial: Serial = "", code: OptionalCode = None, code2: OptionalCode = None
) -> Response:
    redirect = step_up_redirect(w, live, PATH)
    if redirect is not None:
        return redirect
    shown: dict[str, Any] = {"action": PATH, "cancel": "/account", "user": live.user, "live": live}
    codes = _codes(code, code2)
    if not codes:
        return _page(w, status=400, error=error_text("claim_failed"), **shown)
    try:
        tokenclaim.claim(w.rt.core, w.ctx, user_id=live.user.id, serial=serial, codes=codes)
    except Denied:
        return _page(w, status=401, error=error_text("claim_failed"), **shown)
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return _page(w, status=429, error=text, headers=headers, **shown)
    return home()


def _activating(w: Web) -> signin.PendingSignIn | None:
    try:
        found = activation.pending(w.rt.core, w.ctx, w.cookie(cookies.SIGNIN))
    except NotFound:
        return None
    return found if activation.token_kinds(w.rt.core, found) else None


@router.get(ACTIVATE)
def activate_claim_form(w: W) -> Response:
    found = _activating(w)
    if found is None:
        return RedirectResponse("/signin/activate", status_code=303)
    return _page(w, action=ACTIVATE, cancel="/signin/activate", user=found.user)


@router.post(ACTIVATE)
def activate_claim(
    w: W, serial: Serial = "", code: OptionalCode = None, code2: OptionalCode = None
) -> Response:
    found = _activating(w)
    if found is None:
        return expired(w, "signin_expired")
    shown: dict[str, Any] = {"action": ACTIVATE, "cancel": "/signin/activate", "user": found.user}
    codes = _codes(code, code2)
    if not codes:
        return _page(w, status=400, error=error_text("claim_failed"), **shown)
    try:
        progress = activation.claim(
            w.rt.core,
            w.ctx,
            token=w.cookie(cookies.SIGNIN),
            serial=serial,
            codes=codes,
            old_session=w.cookie(cookies.SESSION),
        )
    except NotFound as exc:
        return expired(w, exc.code)
    except Denied:
        return _page(w, status=401, error=error_text("claim_failed"), **shown)
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return _page(w, status=429, error=text, headers=headers, **shown)
    return after_progress(w, progress)
