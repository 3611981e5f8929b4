"""The authorization endpoint's decisions.

``parse`` checks a request in the order that keeps redirects safe: client and redirect URI
first (failures there are shown to the person, never redirected), then everything else
(failures go back to the app's verified redirect URI). ``decide`` looks at the browser's
session and answers with a code, an error for the app, or the interaction still needed; a
request waiting for that interaction is parked server-side (``parked``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.core.oidc import clients
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError, PageError
from portvakt.core.oidc.levels import Level, reachable, session_amr, session_level
from portvakt.core.sessions import SessionView
from portvakt.crypto import random
from portvakt.crypto.hashing import sha256_hex
from portvakt.i18n import LANGUAGES
from portvakt.store.models import OidcGrant
from portvakt.store.repos import credentials

CODE_SECONDS = 60
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
LIMITS = {"state": 2048, "nonce": 512, "login_hint": 256, "scope": 512, "acr_values": 512}
# ui_locales: the primary subtags of the languages the pages ship in. ``no`` (Norwegian) is
# shown in Bokmål; ``nn`` (Nynorsk) is not shipped, so it is passed over like any other.
UI_LANGUAGES = {"en": "en", "nb": "nb", "no": "nb"}


@dataclass(frozen=True, slots=True)
class AuthRequest:
    client: ClientView
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    level: Level = Level.PWD
    login_hint: str | None = None
    fresh_after: datetime | None = None  # set when parked for a sign-in (parked.park)
    ui_language: str | None = None  # from ui_locales: the pages' language for this request

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
        }


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send the browser back to the app (with a code or an error)."""

    url: str


@dataclass(frozen=True, slots=True)
class Interact:
    """The person must sign in (``signin``; ``fresh``: even if signed in) or prove a second
    factor in this session (``step_up``) before the request can be answered."""

    step: str
    request: AuthRequest
    fresh: bool = False
    login_hint: str | None = field(default=None)


def redirect_url(uri: str, params: Mapping[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if urlsplit(uri).query else '?'}{query}"


def error_redirect(ctx: Context, req: AuthRequest, exc: OAuthError) -> Redirect:
    params = {**exc.body(), "state": req.state, "iss": ctx.base_url}
    return Redirect(redirect_url(req.redirect_uri, params))


def parse(core: Core, ctx: Context, params: Mapping[str, Sequence[str]]) -> AuthRequest:
    """A validated request. Raises ``PageError`` (shown, never redirected) when the client or
    the redirect URI cannot be trusted, else ``Refused`` carrying the app's error redirect."""
    for name in ("client_id", "redirect_uri"):
        if len(params.get(name) or []) > 1:
            raise PageError("invalid_request")
    one = _single(params)
    client = clients.by_client_id(core, one("client_id"))
    if client is None:
        raise PageError("unknown_client")
    redirect_uri = one("redirect_uri")
    if not redirect_uri:
        raise PageError("redirect_uri_missing")
    if not clients.redirect_allowed(client, redirect_uri):
        raise PageError("redirect_uri_mismatch")
    state_values = params.get("state") or []
    state = state_values[0] if len(state_values) == 1 and len(state_values[0]) <= 2048 else None
    base = AuthRequest(client, redirect_uri, (), state, None, "")
    try:
        if len(state_values) > 1 or (state_values and state is None):
            # never answer without the state the app sent (and never echo a bad one)
            raise OAuthError("invalid_request", "state is repeated or too long.")
        _check_shape(client, one)
        return replace(
            base,
            scope=_scope(client, one("scope")),
            nonce=one("nonce"),
            code_challenge=_challenge(one),
            prompt=_prompt(one("prompt")),
            max_age=_max_age(one("max_age")),
            level=max(client.required_level, Level.lowest_of(_split(one("acr_values")))),
            login_hint=one("login_hint"),
            ui_language=ui_language(one("ui_locales")),
        )
    except OAuthError as exc:
        raise Refused(error_redirect(ctx, base, exc)) from exc


class Refused(Exception):
    def __init__(self, redirect: Redirect) -> None:
        super().__init__(redirect.url)
        self.redirect = redirect


Getter = Callable[[str], str | None]


def _single(params: Mapping[str, Sequence[str]]) -> Getter:
    """Parameters must not repeat (RFC 6749 3.1); empty means absent; length is capped."""

    def one(name: str) -> str | None:
        values = params.get(name) or []
        if len(values) > 1:
            raise OAuthError("invalid_request", f"{name} is repeated.")
        value = values[0] if values else None
        if value and len(value) > LIMITS.get(name, 2048):
            raise OAuthError("invalid_request", f"{name} is too long.")
        return value or None

    return one


def _split(value: str | None) -> list[str]:
    return (value or "").split()


def ui_language(value: str | None) -> str | None:
    """OpenID Connect Core 3.1.2.1 ``ui_locales``: BCP 47 tags in order of preference; the
    first whose language the pages ship in (``nb-NO``, ``no`` and ``nb`` mean Bokmål, ``en-GB``
    English), or None when there is none."""
    for tag in _split(value):
        lang = UI_LANGUAGES.get(tag.replace("_", "-").split("-")[0].lower())
        if lang in LANGUAGES:
            return lang
    return None


def _check_shape(client: ClientView, one: Getter) -> None:
    if one("request") is not None:
        raise OAuthError("request_not_supported", "Request objects are not supported.")
    if one("request_uri") is not None:
        raise OAuthError("request_uri_not_supported", "request_uri is not supported.")
    response_type = one("response_type")
    if response_type is None:
        raise OAuthError("invalid_request", "response_type is missing.")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    if "authorization_code" not in client.grants:
        raise OAuthError("unauthorized_client", "This client may not use the code flow.")
    if one("response_mode") not in {None, "query"}:
        raise OAuthError("invalid_request", "Only response_mode=query is supported.")


def _scope(client: ClientView, value: str | None) -> tuple[str, ...]:
    """Requested scopes this client may have; others are left out, as RFC 6749 3.3 allows."""
    scope = tuple(dict.fromkeys(s for s in _split(value) if s in client.scopes))
    if "openid" not in scope:
        raise OAuthError("invalid_scope", "The openid scope is required.")
    return scope


def _challenge(one: Getter) -> str:
    challenge = one("code_challenge")
    if challenge is None:
        raise OAuthError("invalid_request", "PKCE is required: send code_challenge (S256).")
    if one("code_challenge_method") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256.")
    if _CHALLENGE.fullmatch(challenge) is None:
        raise OAuthError("invalid_request", "code_challenge is not an S256 challenge.")
    return challenge


def _prompt(value: str | None) -> frozenset[str]:
    prompt = frozenset(_split(value))
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise OAuthError("invalid_request", "prompt is not valid.")
    return prompt


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 10:
        raise OAuthError("invalid_request", "max_age must be a number of seconds.")
    return int(value)


def decide(
    core: Core, ctx: Context, req: AuthRequest, live: SessionView | None
) -> Redirect | Interact:
    """Answer the request for the browser's session ``live`` (None: not signed in)."""
    fresh = "login" in req.prompt or req.max_age is not None
    if live is None or _needs_fresh(ctx, req, live):
        if "none" in req.prompt:
            return error_redirect(ctx, req, OAuthError("login_required", "Sign-in required."))
        return Interact("signin", req, fresh=live is not None and fresh, login_hint=req.login_hint)
    if session_level(core.registry, live) < req.level:
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
    return Redirect(issue_code(core, ctx, req, live))


def _needs_fresh(ctx: Context, req: AuthRequest, live: SessionView) -> bool:
    if req.fresh_after is not None and live.created_at >= req.fresh_after:
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


def issue_code(core: Core, ctx: Context, req: AuthRequest, live: SessionView) -> str:
    """A single-use code valid ``CODE_SECONDS``, bound to client, redirect URI, PKCE challenge
    and what this session's sign-in proved; returns the URL that carries it to the app."""
    code = random.token(32)
    now = ctx.now()
    level = session_level(core.registry, live)
    with core.store.write() as s:
        s.add(
            OidcGrant(
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
        )
        details = {"client": req.client.name, "acr": level.acr}
        record(s, ctx, Event.OIDC_AUTHORIZED, user_id=live.user.id, details=details)
    params = {"code": code, "state": req.state, "iss": ctx.base_url}
    return redirect_url(req.redirect_uri, params)
