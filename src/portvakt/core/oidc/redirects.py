"""Redirect URIs: which an app may register, and whether a request's matches. They are
compared as exact strings (OAuth 2.0 Security BCP 4.1.1); only a public (native) app's loopback
redirect may use any port (RFC 8252 §7.3)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from portvakt.crypto import compare
from portvakt.errors import Invalid

if TYPE_CHECKING:
    from portvakt.core.oidc.clients import ClientView

MAX_URI = 2048
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")


def check_redirect_uri(uri: str) -> str:
    """A redirect URI an app may register: absolute, no fragment, no user info, no wildcard;
    https, or http on a loopback host, or a private-use scheme (``com.example.app:/cb``)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise Invalid("invalid_redirect_uri") from exc
    scheme = parts.scheme
    bad = (
        not uri
        or len(uri) > MAX_URI
        or uri != uri.strip()
        or any(c.isspace() or ord(c) < 32 for c in uri)
        or "*" in uri
        or "#" in uri
        or "@" in parts.netloc
        or _SCHEME.fullmatch(scheme) is None
    )
    if bad:
        raise Invalid("invalid_redirect_uri")
    if scheme in {"http", "https"}:
        if not parts.hostname:
            raise Invalid("invalid_redirect_uri")
        if scheme == "http" and parts.hostname not in LOOPBACK:
            raise Invalid("redirect_uri_not_https")
    elif scheme in {"javascript", "data", "file", "vbscript"} or "." not in scheme:
        raise Invalid("invalid_redirect_uri")  # private-use schemes are reverse domain names
    return uri


def allowed(client: ClientView, given: str) -> bool:
    """Exact string match; for a public client's loopback redirect, any port (RFC 8252)."""
    if any(compare.equal(given, uri) for uri in client.redirect_uris):
        return True
    if not client.public:
        return False
    shape = _loopback_shape(given)
    return shape is not None and any(_loopback_shape(u) == shape for u in client.redirect_uris)


def _loopback_shape(uri: str) -> tuple[str, str, str, str] | None:
    """``uri`` without its port, if it is an http loopback URI, else None. The scheme is
    compared as written (``urlsplit`` lowercases it): only the port may differ."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if not uri.startswith("http://") or parts.hostname not in LOOPBACK or parts.fragment:
        return None
    host = parts.netloc[: -len(f":{port}")] if port is not None else parts.netloc
    if "@" in host or uri.count(parts.netloc) != 1:
        return None
    if uri != f"http://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else ""):
        return None  # an empty "?" or "#" is a different URI too
    return (parts.scheme, host, parts.path, parts.query)
