"""Signing in with a passkey instead of the password (``core.passwordless``), where policy
allows it: the sign-in page posts the browser's answer here with the challenge it was given.
Nothing here names a kind: the path says which, the core checks it is the one offered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from portvakt.core import passwordless
from portvakt.errors import Denied, Throttled
from portvakt.methods.base import FactorResponse
from portvakt.web import cookies
from portvakt.web.deps import W, csrf_protect
from portvakt.web.messages import error_text
from portvakt.web.pages.forms import PathKind, Payload, parse_payload
from portvakt.web.pages.signin import after_progress, throttle_text

router = APIRouter(dependencies=[Depends(csrf_protect)])
Token = Annotated[str, Form(max_length=200)]


@router.post("/signin/{kind}/first")
def first_step(w: W, kind: PathKind, token: Token, payload: Payload = None) -> Response:
    parsed = parse_payload(payload)
    try:
        if parsed is None:
            raise Denied("passkey_refused")
        progress = passwordless.sign_in(
            w.rt.core,
            w.ctx,
            kind=kind,
            token=token,
            response=FactorResponse(payload=parsed),
            old_session=w.cookie(cookies.SESSION),
        )
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return _again(w, 429, text, headers)
    except Denied as exc:
        return _again(w, 400 if parsed is None else 401, error_text(exc.code), None)
    return after_progress(w, progress)


def _again(w: W, status: int, text: str, headers: dict[str, str] | None) -> Response:
    """The sign-in page again, saying why, with a new passkey offer and the password form."""
    first = passwordless.offer(w.rt.core, w.ctx)
    return w.page("signin.html", status=status, error=text, headers=headers, first=first)
