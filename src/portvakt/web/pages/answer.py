"""Answers given in the browser to a challenge: a code typed on the waiting page (a code sent
by text message) or a ceremony's JSON result posted by the page's script (WebAuthn). One route
for sign-in (``/signin/<kind>/answer``) and one for step-up (``/account/verify/<kind>/answer``);
each parses, calls one core use-case and renders. Nothing here names a kind."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from portvakt.core import challenged
from portvakt.errors import Denied, NotFound, Throttled
from portvakt.methods.base import Answer, FactorResponse
from portvakt.web import cookies
from portvakt.web.deps import Live, W, Web, csrf_protect
from portvakt.web.pages import challenge as waiting
from portvakt.web.pages.forms import Flag, OptionalCode, Payload, parse_payload
from portvakt.web.pages.signin import after_progress, expired, throttle_text

router = APIRouter(dependencies=[Depends(csrf_protect)])


def parse(w: Web, kind: str, code: str | None, payload: str | None) -> FactorResponse | None:
    """The answer in the form ``kind``'s method takes, or None when it cannot be one."""
    method = w.rt.core.registry.get(kind)
    caps = method.capabilities
    if caps.answer is Answer.CODE and code is not None and caps.code is not None:
        cleaned = method.normalise_response(code)
        if cleaned is None or not re.fullmatch(caps.code.pattern, cleaned):
            return None
        return FactorResponse(code=cleaned)
    parsed = parse_payload(payload) if caps.answer is Answer.CEREMONY else None
    return FactorResponse(payload=parsed) if parsed is not None else None


def _answerable(w: Web, kind: str) -> None:
    """``NotFound`` unless ``kind`` issues challenges that are answered in the browser."""
    waiting.challenge_kind(w, kind)
    if w.rt.core.registry.get(kind).capabilities.answer is Answer.NONE:
        raise NotFound("not_found")


@router.post("/signin/{kind}/answer")
def signin_answer(
    w: W,
    kind: waiting.Kind,
    tx: waiting.Tx,
    code: OptionalCode = None,
    payload: Payload = None,
    remember: Flag = None,
) -> Response:
    links = waiting.signin_links(kind)
    try:
        _answerable(w, kind)
        pending = waiting.pending_signin(w)
        shown = challenged.view_signin(w.rt.core, w.ctx, pending, tx)
    except NotFound as exc:
        return waiting.not_found(w) if exc.code == "not_found" else expired(w, exc.code)
    response = parse(w, kind, code, payload)
    if response is None:
        return waiting.wait_page(w, shown, links, status=400, error="answer_format")
    try:
        progress = challenged.answer_signin(
            w.rt.core,
            w.ctx,
            pending,
            tx,
            response,
            remember=remember == "on",
            old_session=w.cookie(cookies.SESSION),
        )
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return waiting.wait_page(w, shown, links, status=429, text=text, headers=headers)
    except Denied as exc:
        return _refused(
            w, links, exc.code, lambda: challenged.view_signin(w.rt.core, w.ctx, pending, tx)
        )
    return after_progress(w, progress)


@router.post("/account/verify/{kind}/answer")
def step_up_answer(
    w: W,
    live: Live,
    kind: waiting.Kind,
    tx: waiting.Tx,
    code: OptionalCode = None,
    payload: Payload = None,
) -> Response:
    links = waiting.step_up_links(w, kind)
    try:
        _answerable(w, kind)
        shown = challenged.view_step_up(w.rt.core, w.ctx, live, tx)
    except NotFound:
        return RedirectResponse("/account", status_code=303)
    response = parse(w, kind, code, payload)
    if response is None:
        return waiting.wait_page(w, shown, links, status=400, error="answer_format")
    try:
        challenged.answer_step_up(w.rt.core, w.ctx, live, tx, response)
    except Throttled as exc:
        text, headers = throttle_text(w, exc)
        return waiting.wait_page(w, shown, links, status=429, text=text, headers=headers)
    except Denied as exc:
        return _refused(
            w, links, exc.code, lambda: challenged.view_step_up(w.rt.core, w.ctx, live, tx)
        )
    return RedirectResponse(links.next_path or "/account", status_code=303)


def _refused(w: Web, links: waiting.Links, code: str, read: Any) -> Response:
    """The waiting page again, saying why: it may be answered again while still pending."""
    try:
        shown = read()
    except NotFound as exc:
        return expired(w, exc.code)
    status = 401 if shown.state == "pending" else 409
    return waiting.wait_page(w, shown, links, status=status, error=code)
