"""OpenID Connect: registered apps (clients), authorization requests waiting for a sign-in,
grants (one per authorization code) and the tokens issued under them.

Secrets are never stored: client secrets as a keyed hash, codes and tokens as SHA-256 of 256
random bits. Revoking a grant (``revoked_at``) kills every token issued under it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


class OidcClient(Base):
    __tablename__ = "oidc_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))  # None: a public client
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_uris: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    grants: Mapped[list[str]] = mapped_column(JSON)
    required_level: Mapped[str] = mapped_column(String(8))
    id_token_alg: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # a confidential client that may leave out PKCE, if it sends a nonce (Moodle's auth_oidc)
    allow_without_pkce: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class OidcRequest(Base):
    """An authorization request parked while the person signs in; the browser holds the token."""

    __tablename__ = "oidc_request"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_client.id", ondelete="CASCADE"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class OidcGrant(Base):
    """What one sign-in granted one app: created with its authorization code, then holding the
    tokens. ``user_id`` is None for the client-credentials grant."""

    __tablename__ = "oidc_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_pk: Mapped[int] = mapped_column(
        ForeignKey("oidc_client.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(512))
    nonce: Mapped[str | None] = mapped_column(String(512))
    auth_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str]] = mapped_column(JSON)
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    code_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    redirect_uri: Mapped[str | None] = mapped_column(String(2048))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OidcToken(Base):
    """An access or refresh token (by hash). A refresh token is single use: ``used_at`` is set
    when it is exchanged, and presenting it again revokes the whole grant. ``scope`` is an
    access token's own scope when a refresh asked for less than the grant (RFC 6749 §6); None
    means the grant's scope (refresh tokens always have their grant's)."""

    __tablename__ = "oidc_token"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token)
    grant_id: Mapped[int] = mapped_column(
        ForeignKey("oidc_grant.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # "access" | "refresh"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[str | None] = mapped_column(String(512))
