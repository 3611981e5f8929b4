from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


class SignIn(Base):
    """A sign-in in progress. The browser holds a random token; only its hash is stored."""

    __tablename__ = "signin"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    door: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    pending_credential_id: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class WebSession(Base):
    """A signed-in browser. ``factor_at`` is when a second factor was last proven (step-up)."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(cookie value)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    factor_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    method: Mapped[str | None] = mapped_column(String(32))
    remembered: Mapped[bool] = mapped_column(Boolean, default=False)
    # what the session may do: ``full``, or ``enrollment`` (only add a method: a sign-in with
    # a kind whose ``Capabilities.grants`` says so, such as a temporary access pass)
    scope: Mapped[str] = mapped_column(String(16), default="full", server_default="full")
    # the sign-in began with the password (False: a passkey stood for it: core.passwordless)
    password: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class RememberedDevice(Base):
    """'Don't ask again on this device': a keyed hash of the cookie token, bound to one user."""

    __tablename__ = "remembered_device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
