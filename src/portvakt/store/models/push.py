from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


class PushChallenge(Base):
    """One push request (a sign-in or an activation test). The number shown in the browser is
    stored only as a digest bound to the nonce."""

    __tablename__ = "push_challenge"
    __table_args__ = (Index("ix_push_challenge_user_state", "user_id", "state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the protocol's `tx`
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    signin_id: Mapped[str | None] = mapped_column(String(64))
    credential_id: Mapped[int | None] = mapped_column(Integer, index=True)  # activation: new device
    purpose: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(64))
    number_digest: Mapped[str] = mapped_column(String(64))
    match_mode: Mapped[str] = mapped_column(String(8))
    digits: Mapped[int] = mapped_column(Integer)
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_by: Mapped[int | None] = mapped_column(Integer)
    user_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(16))


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
