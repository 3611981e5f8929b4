"""The authorization endpoint's decisions.

``parse`` checks a request in the order that keeps redirects safe: client and redirect URI
first (failures there are shown to the person, never redirected), then everything else
(failures go back to the app's verified redirect URI). ``decide`` looks at the browser's
session and answers with a code, an error for the app, or the interaction still needed; a
request waiting for that interaction is parked server-side (``parked``). Answers reach the
app in the redirect URI's query, or (``response_mode=form_post``) in a form the browser posts
to it; never in the fragment, as there are no implicit flows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc import checks, clients, redirects
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError, PageError
from portvakt.core.oidc.levels import Level, reachable, session_amr, session_level
from portvakt.core.sessions import SessionView
from portvakt.crypto import random
from portvakt.crypto.hashing import sha256_hex
from portvakt.store.repos import credentials, oidc_authz, users

CODE_SECONDS = 60
RESPONSE_MODES = ("query", "form_post")  # discovery's response_modes_supported


@dataclass(frozen=True, slots=True)
class AuthRequest:
    client: ClientView
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str | None  # None: a client allowed without PKCE sent none (and a nonce)
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    level: Level = Level.PWD
    login_hint: str | None = None
    fresh_after: datetime | None = None  # set when parked for a sign-in (parked.park)
    ui_language: str | None = None  # from ui_locales: the pages' language for this request
    hint_subject: str | None = None  # the sub of a valid id_token_hint
    response_mode: str = "query"  # or "form_post"

    def to_params(self) -> dict[str, Any]:
        return {
            "redirect_uri": self.redirect_uri,
            "scope": list(self.scope),
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "prompt": sorted(self.prompt),
            "max_age": self.max_age,
            "level": int(self.level),
            "login_hint": self.login_hint,
            "fresh_after": self.fresh_after.isoformat() if self.fresh_after else None,
            "ui_language": self.ui_language,
            "hint_subject": self.hint_subject,
            "response_mode": self.response_mode,
        }


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send the browser back to the app with ``params`` (a code or an error, with ``state``
    and ``iss``): in the query of the redirect URI (``url``), or, when the request asked for
    ``form_post``, as the fields of a form the browser posts there (OAuth 2.0 Form Post
    Response Mode)."""

    request: AuthRequest
    params: Mapping[str, str]

    @property
    def url(self) -> str:
        return redirect_url(self.request.redirect_uri, self.params)

    @property
    def form_post(self) -> bool:
        return self.request.response_mode == "form_post"


@dataclass(frozen=True, slots=True)
class Interact:
    """The person must sign in (``signin``; ``fresh``: even if signed in), prove a second
    factor in this session (``step_up``), or first add a method (``add_method``: the session
    may only do that, a sign-in with a temporary access pass) before the request can be
    answered."""

    step: str
    request: AuthRequest
    fresh: bool = False
    login_hint: str | None = field(default=None)


def redirect_url(uri: str, params: Mapping[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{query}"


def to_app(req: AuthRequest, params: Mapping[str, str | None]) -> Redirect:
    return Redirect(req, {k: v for k, v in params.items() if v is not None})


def error_redirect(ctx: Context, req: AuthRequest, exc: OAuthError) -> Redirect:
    return to_app(req, {**exc.body(), "state": req.state, "iss": ctx.base_url})


def parse(core: Core, ctx: Context, params: Mapping[str, Sequence[str]]) -> AuthRequest:
    """A validated request. Raises ``PageError`` (shown, never redirected) when the client or
    the redirect URI cannot be trusted, else ``Refused`` carrying the app's error redirect."""
    for name in ("client_id", "redirect_uri"):  # not trusted yet: never redirected (OIDC-01)
        values = params.get(name) or []
        if len(values) > 1 or any(len(v) > checks.limit(name) for v in values):
            raise PageError("invalid_request")
    one = checks.single(params)
    client = clients.by_client_id(core, one("client_id"))
    if client is None:
        raise PageError("unknown_client")
    redirect_uri = one("redirect_uri")
    if not redirect_uri:
        raise PageError("redirect_uri_missing")
    if not redirects.allowed(client, redirect_uri):
        raise PageError("redirect_uri_mismatch")
    state_values = params.get("state") or []
    state = state_values[0] if len(state_values) == 1 and len(state_values[0]) <= 2048 else None
    modes = list(params.get("response_mode") or [])
    web = redirect_uri.startswith(("https://", "http://"))
    mode = "form_post" if modes == ["form_post"] and web else "query"  # errors travel so too
    base = AuthRequest(client, redirect_uri, (), state, None, "", response_mode=mode)
    try:
        if len(state_values) > 1 or (state_values and state is None):
            # never answer without the state the app sent (and never echo a bad one)
            raise OAuthError("invalid_request", "state is repeated or too long.")
        checks.check_shape(client, one)
        _check_response_mode(one("response_mode"), redirect_uri)
        return replace(
            base,
            scope=checks.scope(client, one("scope")),
            nonce=one("nonce"),
            code_challenge=checks.challenge(client, one),
            prompt=checks.prompt(one("prompt")),
            max_age=checks.max_age(one("max_age")),
            level=max(client.required_level, Level.lowest_of(checks.split(one("acr_values")))),
            login_hint=one("login_hint"),
            ui_language=checks.ui_language(one("ui_locales")),
            hint_subject=checks.hint_subject(core, ctx, client, one("id_token_hint")),
        )
    except OAuthError as exc:
        raise Refused(error_redirect(ctx, base, exc)) from exc


def _check_response_mode(value: str | None, redirect_uri: str) -> None:
    """``query`` (the default for ``code``) or ``form_post``; ``fragment`` is for implicit
    flows, which Portvakt does not have (OAuth 2.0 Security BCP 2.1.2)."""
    if value == "fragment":
        description = (
            "response_mode=fragment is not supported (no implicit flows): use query or form_post."
        )
        raise OAuthError("invalid_request", description)
    if value not in {None, *RESPONSE_MODES}:
        raise OAuthError("invalid_request", "response_mode must be query or form_post.")
    if value == "form_post" and not redirect_uri.startswith(("https://", "http://")):
        raise OAuthError("invalid_request", "form_post needs an http(s) redirect URI.")


class Refused(Exception):
    def __init__(self, redirect: Redirect) -> None:
        super().__init__(redirect.url)
        self.redirect = redirect


def decide(
    core: Core, ctx: Context, req: AuthRequest, live: SessionView | None
) -> Redirect | Interact:
    """Answer the request for the browser's session ``live`` (None: not signed in)."""
    if live is None or _needs_fresh(ctx, req, live):
        return _sign_in(ctx, req, live, "Sign-in required.")
    if live.restricted:  # an app sign-in never completes with a temporary access pass
        if "none" in req.prompt:
            error = OAuthError("interaction_required", "A sign-in method must be added first.")
            return error_redirect(ctx, req, error)
        return Interact("add_method", req)
    if _someone_else(core, req, live):
        return _sign_in(ctx, req, live, "The person signed in is not the one id_token_hint names.")
    if session_level(core.registry, live) < req.level:
        return _step_up(core, ctx, req, live)
    return issue_code(core, ctx, req, live)


def _sign_in(
    ctx: Context, req: AuthRequest, live: SessionView | None, why: str
) -> Redirect | Interact:
    """Someone must sign in: nobody is, the sign-in is older than ``prompt=login`` or
    ``max_age`` allow, or it is not the person ``id_token_hint`` names. A browser that is
    signed in sees the form anyway (``fresh``). With ``prompt=none``, or when the sign-in
    made for this very request was someone else's, the app gets ``login_required`` (OpenID
    Connect Core 3.1.2.1 and 3.1.2.6)."""
    if "none" in req.prompt or (live is not None and _signed_in_for(req, live)):
        return error_redirect(ctx, req, OAuthError("login_required", why))
    return Interact("signin", req, fresh=live is not None, login_hint=req.login_hint)


def _step_up(core: Core, ctx: Context, req: AuthRequest, live: SessionView) -> Redirect | Interact:
    """The session is weaker than the app requires: a second factor within it, if the person
    has a method that reaches the level."""
    if "none" in req.prompt:
        error = OAuthError("interaction_required", "A stronger sign-in is required.")
        return error_redirect(ctx, req, error)
    with core.store.read() as s:
        kinds = [c.kind for c in credentials.for_user(s, live.user.id, active_only=True)]
    if not reachable(core.registry, kinds, req.level):
        _refused(core, ctx, req, live, "level_unreachable")
        description = "This app requires a sign-in method the person does not have."
        error = OAuthError("unmet_authentication_requirements", description)
        return error_redirect(ctx, req, error)
    return Interact("step_up", req)


def _someone_else(core: Core, req: AuthRequest, live: SessionView) -> bool:
    """Whether ``id_token_hint`` named a person other than the one signed in."""
    if req.hint_subject is None:
        return False
    with core.store.read() as s:
        return users.subject_of(s, live.user.id) != req.hint_subject


def _signed_in_for(req: AuthRequest, live: SessionView) -> bool:
    """Whether ``live`` began after ``req`` was parked for a sign-in: signed in for it."""
    return req.fresh_after is not None and live.created_at >= req.fresh_after


def _needs_fresh(ctx: Context, req: AuthRequest, live: SessionView) -> bool:
    if _signed_in_for(req, live):
        return False  # signed in anew for this very request
    if "login" in req.prompt:
        return True
    if req.max_age is not None:
        return (ctx.now() - live.created_at).total_seconds() > req.max_age
    return False


def _refused(core: Core, ctx: Context, req: AuthRequest, live: SessionView, reason: str) -> None:
    with core.store.write() as s:
        details = {"client": req.client.name, "reason": reason}
        record(s, ctx, Event.OIDC_REFUSED, outcome="failure", user_id=live.user.id, details=details)


def issue_code(core: Core, ctx: Context, req: AuthRequest, live: SessionView) -> Redirect:
    """A single-use code valid ``CODE_SECONDS``, bound to client, redirect URI, PKCE challenge
    and what this session's sign-in proved; returns the answer that carries it to the app."""
    code = random.token(32)
    now = ctx.now()
    level = session_level(core.registry, live)
    with core.store.write() as s:
        oidc_authz.add_code_grant(
            s,
            client_pk=req.client.pk,
            user_id=live.user.id,
            session_id=live.id,
            scope=" ".join(req.scope),
            nonce=req.nonce,
            auth_time=live.created_at,
            acr=level.acr,
            amr=session_amr(core.registry, live),
            code_hash=sha256_hex(code),
            code_expires_at=now + timedelta(seconds=CODE_SECONDS),
            redirect_uri=req.redirect_uri,
            code_challenge=req.code_challenge,
            created_at=now,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
        details: dict[str, object] = {"client": req.client.name, "acr": level.acr}
        if req.code_challenge is None:
            details["without_pkce"] = True  # a client registered --allow-without-pkce
        record(s, ctx, Event.OIDC_AUTHORIZED, user_id=live.user.id, details=details)
    return to_app(req, {"code": code, "state": req.state, "iss": ctx.base_url})
