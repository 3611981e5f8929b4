"""The authorization request's parameters, each checked as its spec says (RFC 6749 §4.1.1,
OpenID Connect Core 3.1.2.1, RFC 7636). A refusal is an ``OAuthError`` that ``authorize.parse``
sends back to the app's verified redirect URI."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from portvakt import wire
from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.oidc import hints
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import OAuthError
from portvakt.i18n import LANGUAGES

PROMPTS = frozenset({"none", "login", "consent", "select_account"})
MAX_LENGTH = 2048  # any parameter not in LIMITS (client_id, redirect_uri …)
LIMITS = {
    "state": 2048,
    "nonce": 512,
    "login_hint": 256,
    "scope": 512,
    "acr_values": 512,
    "id_token_hint": hints.MAX_LENGTH,
}
# ui_locales: the primary subtags of the languages the pages ship in. ``no`` (Norwegian) is
# shown in Bokmål; ``nn`` (Nynorsk) is not shipped, so it is passed over like any other.
UI_LANGUAGES = {"en": "en", "nb": "nb", "no": "nb"}
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")

Getter = Callable[[str], str | None]


def single(params: Mapping[str, Sequence[str]]) -> Getter:
    """Parameters must not repeat (RFC 6749 3.1); empty means absent; length is capped."""

    def one(name: str) -> str | None:
        values = params.get(name) or []
        if len(values) > 1:
            raise OAuthError("invalid_request", f"{name} is repeated.")
        value = values[0] if values else None
        if value and len(value) > limit(name):
            raise OAuthError("invalid_request", f"{name} is too long.")
        return value or None

    return one


def limit(name: str) -> int:
    """The longest value ``name`` may have."""
    return LIMITS.get(name, MAX_LENGTH)


def split(value: str | None) -> list[str]:
    return (value or "").split()


def check_shape(client: ClientView, one: Getter) -> None:
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


def scope(client: ClientView, value: str | None) -> tuple[str, ...]:
    """Requested scopes this client may have; others are left out, as RFC 6749 3.3 allows."""
    found = tuple(dict.fromkeys(s for s in split(value) if s in client.scopes))
    if "openid" not in found:
        raise OAuthError("invalid_scope", "The openid scope is required.")
    return found


def challenge(client: ClientView, one: Getter) -> str | None:
    """RFC 7636 §4.3: the S256 code challenge every client must send (``plain`` is refused).
    A confidential client registered ``allow_without_pkce`` may send none at all (None), but
    then must send a ``nonce``: the ID token carries it back, so the app can tell the code was
    issued for the request its browser made (OAuth 2.0 Security BCP 2.1.1, 4.5.3.2)."""
    value = one("code_challenge")
    if value is None and one("code_challenge_method") is None and _exempt(client):
        if one("nonce") is None:
            raise OAuthError("invalid_request", "Without PKCE, a nonce is required.")
        return None
    if value is None:
        raise OAuthError("invalid_request", "PKCE is required: send code_challenge (S256).")
    if one("code_challenge_method") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256.")
    if _CHALLENGE.fullmatch(value) is None:
        raise OAuthError("invalid_request", "code_challenge is not an S256 challenge.")
    return value


def _exempt(client: ClientView) -> bool:
    return client.allow_without_pkce and not client.public  # public: never (clients._check)


def prompt(value: str | None) -> frozenset[str]:
    found = frozenset(split(value))
    if not found <= PROMPTS or ("none" in found and len(found) > 1):
        raise OAuthError("invalid_request", "prompt is not valid.")
    return found


def max_age(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return wire.number(value, max_digits=10)
    except wire.Malformed as exc:
        raise OAuthError("invalid_request", "max_age must be a number of seconds.") from exc


def ui_language(value: str | None) -> str | None:
    """OpenID Connect Core 3.1.2.1 ``ui_locales``: BCP 47 tags in order of preference; the
    first whose language the pages ship in (``nb-NO``, ``no`` and ``nb`` mean Bokmål, ``en-GB``
    English), or None when there is none."""
    for tag in split(value):
        lang = UI_LANGUAGES.get(tag.replace("_", "-").split("-")[0].lower())
        if lang in LANGUAGES:
            return lang
    return None


def hint_subject(core: Core, ctx: Context, client: ClientView, value: str | None) -> str | None:
    """OpenID Connect Core 3.1.2.1 ``id_token_hint``: an ID token Portvakt issued to this app
    (expired or not); its ``sub`` is who the app expects to be signed in."""
    if value is None:
        return None
    hint = hints.verify(core, ctx, value)
    if hint is None:
        raise OAuthError("invalid_request", "id_token_hint is not an ID token issued here.")
    if not hint.issued_to(client.client_id):
        raise OAuthError("invalid_request", "id_token_hint was issued to another app.")
    return hint.subject
