"""A session that may only add a method (a sign-in with a temporary access pass): once a way
to sign in day to day has been added in it, it ends, and the person signs in again with the
new method rather than the session turning into a full one (docs/methods/tap.md)."""

from __future__ import annotations

from fastapi.responses import Response

from portvakt.core import selfservice, sessions
from portvakt.methods.base import Grant
from portvakt.web import cookies
from portvakt.web.deps import Enrolling, Web


def added_since(w: Web, live: Enrolling) -> bool:
    """A way to sign in day to day was added in this session."""
    info = selfservice.security_info(w.rt.core, w.ctx, user_id=live.user.id)
    registry = w.rt.core.registry
    return any(
        m.created_at >= live.created_at
        and registry.grants(m.kind) is Grant.FULL
        and not registry.is_fallback(m.kind)
        for m in info.methods
    )


def added_with_pass(w: Web, live: Enrolling) -> Response:
    """A method added in a session that may only add one: the session ends rather than turning
    into a full one (the pass proved nothing the new method did not), and the person signs in
    again with the new method (docs/methods/tap.md)."""
    sessions.end(w.rt.core, w.ctx, live)
    waiting = w.waiting()
    response = w.page(
        "signin.html",
        notice=w.gettext("Your new sign-in method is ready. Sign in again with it."),
        username=live.user.username,
        app_name=waiting.client.name if waiting is not None else None,
    )
    cookies.clear(w.request, response, cookies.SESSION)
    return response
