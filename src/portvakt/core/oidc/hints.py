"""``id_token_hint``: an ID token Portvakt issued, sent back by an app as a hint about who is
(or was) signed in, at the authorization endpoint (OpenID Connect Core 3.1.2.1) and at logout
(RP-Initiated Logout 1.0 §2).

A hint is good when joserfc verifies its signature against a key Portvakt still publishes and
it names this issuer (``keys.verify``). Its expiry does not matter: Core 3.1.2.1 lets an
expired ID token be a hint, and logout links often carry old ones."""

from __future__ import annotations

from dataclasses import dataclass

from portvakt.context import Context
from portvakt.core.base import Core
from portvakt.core.oidc import keys

MAX_LENGTH = 8192


@dataclass(frozen=True, slots=True)
class IdTokenHint:
    subject: str
    audience: tuple[str, ...]
    sid: str | None

    def issued_to(self, client_id: str) -> bool:
        """Whether the hint's ``aud`` includes ``client_id`` (OpenID Connect Core 3.1.2.1:
        the ID token was issued to the app now presenting it)."""
        return client_id in self.audience

    @property
    def client_id(self) -> str | None:
        """The app it was issued to, when its audience names just one."""
        return self.audience[0] if len(self.audience) == 1 else None


def verify(core: Core, ctx: Context, token: str) -> IdTokenHint | None:
    """The hint's subject, audience and session, or None if Portvakt did not issue it (a bad
    signature, a withdrawn or foreign key, another issuer, not a JWT, no ``sub`` or ``aud``)."""
    if len(token) > MAX_LENGTH:
        return None
    claims = keys.verify(core, ctx, token)
    if claims is None:
        return None
    aud, sub, sid = claims.get("aud"), claims.get("sub"), claims.get("sid")
    found = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    audience = tuple(a for a in found if isinstance(a, str) and a)
    if not isinstance(sub, str) or not sub or not audience:
        return None
    return IdTokenHint(sub, audience, sid if isinstance(sid, str) else None)
