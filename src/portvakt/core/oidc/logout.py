"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

An app sends the person here with its ID token as ``id_token_hint``. When the hint names the
session this browser holds, the session ends at once; otherwise the person is asked first, so a
link on some other site cannot sign anyone out. A ``post_logout_redirect_uri`` must be one the
app registered, compared as an exact string, else nobody is redirected anywhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.oidc import claims, clients, hints
from portvakt.core.oidc.authorize import redirect_url
from portvakt.core.oidc.clients import ClientView
from portvakt.core.oidc.errors import PageError
from portvakt.core.sessions import SessionView


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: ClientView | None
    redirect_uri: str | None
    state: str | None
    sid: str | None  # from a valid id_token_hint (``hints.verify``)

    def matches(self, live: SessionView) -> bool:
        return self.sid is not None and self.sid == claims.session_sid(live.id)

    def next_url(self) -> str | None:
        if self.redirect_uri is None:
            return None
        return redirect_url(self.redirect_uri, {"state": self.state})

    def form_fields(self) -> dict[str, str]:
        """What the confirmation form carries (the hint was already checked, if any)."""
        fields = {"client_id": self.client.client_id if self.client else None}
        fields |= {"post_logout_redirect_uri": self.redirect_uri, "state": self.state}
        return {k: v for k, v in fields.items() if v}


def parse(core: Core, ctx: Context, params: Mapping[str, Sequence[str]]) -> LogoutRequest:
    def one(name: str) -> str | None:
        values = params.get(name) or []
        if len(values) > 1 or any(len(v) > 8192 for v in values):
            raise PageError("invalid_request")
        return values[0] if values and values[0] else None

    hint = one("id_token_hint")
    hinted = hints.verify(core, ctx, hint) if hint else None
    if hint and hinted is None:
        raise PageError("invalid_id_token_hint")
    client_id = one("client_id")
    if client_id and hinted and not hinted.issued_to(client_id):
        raise PageError("invalid_request")
    client = clients.by_client_id(core, client_id or (hinted.client_id if hinted else None))
    uri = one("post_logout_redirect_uri")
    if uri is not None and client is None and not client_id and not hint:
        client = clients.by_post_logout_uri(core, uri)  # apps that send neither (Nextcloud)
    if uri is not None and (client is None or uri not in client.post_logout_uris):
        raise PageError("post_logout_uri_mismatch")
    state = one("state")
    return LogoutRequest(
        client, uri, state[:2048] if state else None, hinted.sid if hinted else None
    )
