from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


class SigningKey(Base):
    """A server signing key (sealed), shared by every instance through the database: the push
    key (purpose ``push``) and the OpenID Connect keys (purpose ``oidc``)."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # OpenID Connect keys rotate: published at ``created_at``, used for signing from
    # ``not_before``, dropped from the JWKS at ``expires_at`` (None: not yet superseded).
    alg: Mapped[str | None] = mapped_column(String(8))
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
