"""Two kinds of refusal. ``OAuthError`` goes back to the app (a JSON error, or a redirect to
a verified redirect URI); ``PageError`` is shown to the person only, because the redirect URI
could not be trusted (unknown client, unregistered redirect URI): no redirect at all."""

from __future__ import annotations


class OAuthError(Exception):
    """An RFC 6749 / OpenID Connect error: ``error`` code, a human description, HTTP status."""

    def __init__(self, error: str, description: str = "", *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


class PageError(Exception):
    """A request the person sees an error page for; ``code`` maps to a translated message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
