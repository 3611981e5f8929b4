"""Security info: add a hardware token you were given (an unassigned token of the operator's
inventory) with its serial number and codes, or one touch of a key that types its code. The
token's kind judges the codes (``core.tokens.claim``); this page names no kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from portvakt.core import tokens
from portvakt.errors import Denied, Throttled
from portvakt.web.deps import Live, W, Web, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.account import home, step_up_redirect
from portvakt.web.pages.forms import OptionalCode
from portvakt.web.pages.signin import throttle_text

router = APIRouter(dependencies=[Depends(csrf_protect)])
PATH = "/account/tokens/claim"
Serial = Annotated[str, Form(max_length=64)]


def _page(
    w: Web,
    live: Live,
    *,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return w.page(
        "claim_token.html",
        status=status,
        error=error,
        headers=headers,
        action=PATH,
        cancel="/account",
        max_code=w.rt.core.registry.max_code_length("web"),
        user=live.user,
        live=live,
    )


@router.get(PATH)
def claim_form(w: W, live: Live) -> Response:
    redirect = step_up_redirect(w, live, PATH)
    if redirect is not None:
        return redirect
    if not any(k in w.rt.core.knobs.allowed_kinds for k in w.rt.core.registry.token_kinds()):
        return home()
    return _page(w, live)


@router.post(PATH)
def claim(
    w: W, live: Live, serial: Serial = "", code: OptionalCode = None, code2: OptionalCode = None
) -> Response:
    redirect = step_up_redirect(w, live, PATH)
    if redirect is not None:
        return redirect
    codes = [c.strip() for c in (code, code2) if c and c.strip()]
    if not codes:
        return _page(w, live, status=400, error=error_text("claim_failed"))
    try:
        tokens.claim(w.rt.core, w.ctx, user_id=live.user.id, serial=serial, codes=codes)
    except Denied:
        return _page(w, live, status=401, error=error_text("claim_failed"))
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return _page(w, live, status=429, error=text, headers=headers)
    return home()
