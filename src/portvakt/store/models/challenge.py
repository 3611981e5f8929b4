from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


class Challenge(Base):
    """One challenge of any method kind (a push request, later an SMS code or a WebAuthn
    ceremony). Bound by typed columns to what waits for it: a sign-in in progress
    (``signin_id``), a signed-in session stepping up (``session_id``), or a validate-API
    transaction (``integration_id``); an enrolment challenge is bound to its new credential
    (``credential_id``). ``data`` is the method's server-side state, never shown."""

    __tablename__ = "challenge"
    __table_args__ = (
        Index("ix_challenge_user_state", "user_id", "state"),
        Index("ix_challenge_user_kind_created", "user_id", "kind", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the protocol's `tx`
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # methods.base.Purpose
    state: Mapped[str] = mapped_column(String(16))  # methods.base.ChallengeState
    signin_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(64))
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE")
    )
    credential_id: Mapped[int | None] = mapped_column(Integer, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_by: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(32))
