"""The portal's settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_URL = "http://localhost:8100"
SCOPES = "openid profile email phone"


class ConfigError(Exception):
    """A missing or malformed PORTAL_* variable, worded for the person starting the portal."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    issuer: str  # Portvakt's base URL, exactly as its discovery document names it
    client_id: str
    client_secret: str | None  # None: a public client (PKCE alone, no client authentication)
    url: str  # where people reach this portal, without a trailing slash
    acr_values: str | None = None  # demand a level, e.g. "urn:portvakt:acr:mfa"
    host: str = "127.0.0.1"

    @property
    def discovery_url(self) -> str:
        """OpenID Connect Discovery 1.0 §4: the issuer plus the well-known path."""
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def callback_url(self) -> str:
        return f"{self.url}/callback"

    @property
    def home_url(self) -> str:
        return f"{self.url}/"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def https(self) -> bool:
        return self.url.startswith("https://")


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(f"{name} must be an http(s) URL such as http://localhost:8000")
    return value.rstrip("/")


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """PORTAL_ISSUER and PORTAL_CLIENT_ID are required; the rest have defaults."""
    missing = [n for n in ("PORTAL_ISSUER", "PORTAL_CLIENT_ID") if not env.get(n)]
    if missing:
        raise ConfigError(f"set {' and '.join(missing)} (see examples/staff_portal/README.md)")
    return Settings(
        issuer=_http_url("PORTAL_ISSUER", env["PORTAL_ISSUER"]),
        client_id=env["PORTAL_CLIENT_ID"],
        client_secret=env.get("PORTAL_CLIENT_SECRET") or None,
        url=_http_url("PORTAL_URL", env.get("PORTAL_URL") or DEFAULT_URL),
        acr_values=env.get("PORTAL_ACR_VALUES") or None,
        host=env.get("PORTAL_HOST") or "127.0.0.1",
    )
