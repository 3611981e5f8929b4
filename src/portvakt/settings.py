"""Settings: environment variables ``PORTVAKT_*`` over an optional TOML file over defaults.

The TOML file is ``$PORTVAKT_CONFIG`` if set, otherwise ``portvakt.toml`` in the data folder if
it exists. Keys in the file are the field names below (``remember_device_days = 30``).
"""

from __future__ import annotations

import ipaddress
import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SECRET_FIELDS = frozenset(
    {"secret_key", "database_url", "redis_url", "sms_http", "sms_fallback_http", "sms_smtp"}
)
SmsGatewayName = Literal["http", "smtp", "file"]


class SmsHttpSettings(BaseModel):
    """An operator's HTTP API for text messages: ``$to`` (E.164), ``$text`` and ``$sender`` in
    ``url`` and ``body`` are replaced, escaped for the URL and for ``content_type``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = '{"to": "$to", "text": "$text", "from": "$sender"}'
    content_type: str = "application/json"


class SmsSmtpSettings(BaseModel):
    """Email-to-SMS: one message to ``recipient`` (``$number``: the E.164 digits, no ``+``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipient: str = Field("$number@sms.example.org", pattern=r"\$number")


# old name -> (kind, name in [methods.<kind>]); removed in a later release
LEGACY_METHOD_SETTINGS = {
    "totp_window": ("totp", "window"),
    **{
        f"push_{name}": ("push", name)
        for name in (
            "challenge_seconds",
            "number_digits",
            "match_mode",
            "max_unanswered",
            "window_seconds",
            "max_denials",
            "pause_minutes",
            "require_uv",
            "activation_minutes",
        )
    },
}

# Short names the issue and the docs use for a method's setting (no deprecation note)
SHORT_METHOD_SETTINGS = {"webauthn_rp_id": ("webauthn", "rp_id")}


def _toml_path() -> Path | None:
    explicit = os.environ.get("PORTVAKT_CONFIG")
    if explicit:
        return Path(explicit)
    data_dir = Path(os.environ.get("PORTVAKT_DATA_DIR", "portvakt-data"))
    candidate = data_dir / "portvakt.toml"
    return candidate if candidate.is_file() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PORTVAKT_", extra="forbid", frozen=True, env_nested_delimiter="__"
    )

    # Where things live
    data_dir: Path = Field(Path("portvakt-data"), description="Data folder (SQLite, keys)")
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL; default is SQLite in the data folder"
    )
    redis_url: SecretStr | None = Field(
        None, description="Redis URL for cross-instance events; default: PostgreSQL or in-process"
    )
    secret_key: SecretStr | None = Field(
        None, description="Base64 32-byte master key; default is a key file in the data folder"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str | None = Field(None, description="External URL, e.g. https://mfa.example.org")
    issuer: str = Field("Portvakt", min_length=1, max_length=64)
    geoip_database: Path | None = Field(
        None, description="A GeoIP2/GeoLite2 City .mmdb file; push requests then show the place"
    )
    default_language: Literal["en", "nb"] = "en"

    # Sign-in
    signin_ttl_seconds: int = Field(600, ge=60, le=3600)
    session_idle_minutes: int = Field(60, ge=5, le=24 * 60)
    session_absolute_hours: int = Field(24, ge=1, le=24 * 7)
    step_up_minutes: int = Field(10, ge=1, le=60)
    remember_device_days: int = Field(20, ge=0, le=90)

    # Activation policy
    mfa_required: bool = True
    passwordless: bool = Field(
        False, description="people with a passkey may sign in without their password"
    )
    enrollment_deadline: date | None = Field(
        None, description="Until this date people may skip activation (grace period)"
    )

    # Methods
    allowed_methods: Annotated[tuple[str, ...] | None, NoDecode] = Field(
        None,
        description="The method kinds people may use and add (comma-separated); "
        "default: every registered kind",
    )
    methods: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Each method's own settings: [methods.<kind>] in the TOML file, "
        "PORTVAKT_METHODS__<KIND>__<NAME> in the environment",
    )

    # Deprecated: the methods' own settings moved to [methods.totp] and [methods.push]
    # (PORTVAKT_METHODS__<KIND>__<NAME>). The old names still work: each is copied there
    # unless the new name is given too, and `portvakt serve` warns (LEGACY_METHOD_SETTINGS).
    totp_window: int | None = Field(None, description="deprecated: [methods.totp] window")
    push_challenge_seconds: int | None = Field(None, description="deprecated")
    push_number_digits: int | None = Field(None, description="deprecated")
    push_match_mode: Literal["type", "pick"] | None = Field(None, description="deprecated")
    push_max_unanswered: int | None = Field(None, description="deprecated")
    push_window_seconds: int | None = Field(None, description="deprecated")
    push_max_denials: int | None = Field(None, description="deprecated")
    push_pause_minutes: int | None = Field(None, description="deprecated")
    push_require_uv: bool | None = Field(None, description="deprecated")
    push_activation_minutes: int | None = Field(None, description="deprecated")

    webauthn_rp_id: str | None = Field(
        None, description="short for [methods.webauthn] rp_id (PORTVAKT_WEBAUTHN_RP_ID)"
    )

    # OpenID Connect provider
    oidc_access_token_seconds: int = Field(600, ge=60, le=86400)
    oidc_id_token_seconds: int = Field(600, ge=60, le=86400)
    oidc_refresh_token_days: int = Field(30, ge=1, le=365)
    oidc_key_rotate_days: int = Field(90, ge=1, le=3650)
    oidc_key_publish_hours: int = Field(24, ge=1, le=24 * 14)

    # Throttling (NIST SP 800-63B: at most 100 consecutive failures)
    factor_lockout_threshold: int = Field(10, ge=3, le=50)
    factor_lockout_seconds: int = Field(300, ge=30)
    factor_lockout_max_seconds: int = Field(3600, ge=60)
    factor_hard_limit: int = Field(100, ge=10, le=100)
    password_failures_per_account: int = Field(10, ge=3)
    password_attempts_per_ip: int = Field(50, ge=5)
    password_delay_max_seconds: int = Field(30, ge=0, le=300)
    code_failures_per_ip: int = Field(100, ge=10)
    rate_window_seconds: int = Field(900, ge=60)
    code_failures_per_integration: int = Field(
        10_000, ge=100, description="Wrong codes through one validate-API integration per window"
    )

    # Text messages: the gateways an SMS code goes through, in order (docs/operators/sms.md)
    sms_gateway: SmsGatewayName | None = Field(None, description="http, smtp or file")
    sms_fallback_gateway: SmsGatewayName | None = Field(
        None, description="Tried when the first gateway fails"
    )
    sms_file: Path | None = Field(None, description="file gateway: JSON lines appended here")
    sms_sender: str = Field("Portvakt", min_length=1, max_length=11)
    sms_http: SmsHttpSettings | None = None
    sms_fallback_http: SmsHttpSettings | None = Field(
        None, description="The fallback gateway's HTTP API, when both are http"
    )
    sms_smtp: SmsSmtpSettings | None = None
    sms_timeout_seconds: float = Field(5, gt=0, le=30)
    sms_retries: int = Field(1, ge=0, le=5, description="Retries per gateway before the next")

    # Reverse proxies
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Addresses or networks whose X-Forwarded-For and X-Forwarded-Proto are "
        "believed; none by default",
    )

    @model_validator(mode="after")
    def _sms_gateways(self) -> Settings:
        """Each chosen text-message gateway has what it needs (a start-up error otherwise)."""
        needs = {"file": "sms_file", "smtp": "sms_smtp", "http": "sms_http"}
        for chosen in (self.sms_gateway, self.sms_fallback_gateway):
            if chosen is not None and getattr(self, needs[chosen]) is None:
                raise ValueError(f"sms gateway {chosen} needs {needs[chosen]}")
        return self

    @model_validator(mode="after")
    def _legacy_method_settings(self) -> Settings:
        for name, (kind, key) in {**LEGACY_METHOD_SETTINGS, **SHORT_METHOD_SETTINGS}.items():
            value = getattr(self, name)
            if value is not None:
                self.methods.setdefault(kind, {}).setdefault(key, value)
        return self

    def legacy_names(self) -> list[str]:
        """The deprecated setting names this configuration still uses."""
        return [name for name in LEGACY_METHOD_SETTINGS if getattr(self, name) is not None]

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("allowed_methods", mode="before")
    @classmethod
    def _kinds(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        """An environment variable holds a comma-separated list; a TOML file an array."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(proxy_entry(entry) for entry in value))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def db_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'portvakt.db'}"

    def masked(self) -> dict[str, Any]:
        """Effective settings for display; secrets are replaced by ``********``."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump(mode="json").items():
            if (name in LEGACY_METHOD_SETTINGS or name in SHORT_METHOD_SETTINGS) and value is None:
                continue  # a deprecated name nobody set
            if name in SECRET_FIELDS and value is not None:
                value = "********"
            shown[name] = value
        shown["database"] = _mask_url(self.db_url)
        return shown


def proxy_entry(text: str) -> str:
    """One ``trusted_proxies`` entry in its normal form: an IP address (``127.0.0.1``,
    ``::1``) or a network (``10.0.0.0/8``). Anything else, ``*`` included, is refused."""
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text.strip(), strict=True))
        return str(ipaddress.ip_address(text.strip()))
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not an IP address or network such as 127.0.0.1 or 10.0.0.0/8 ({exc})"
        ) from exc


def _mask_url(url: str) -> str:
    """Hide a password in a database URL (``postgresql://u:***@h/db``)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
