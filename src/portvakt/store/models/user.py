from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


def new_subject() -> str:
    return secrets.token_hex(16)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    # OpenID Connect ``sub``: random, so never reused even where row ids are (SQLite reuses
    # the highest id after a delete) and never guessable from another account's
    subject: Mapped[str] = mapped_column(String(32), unique=True, default=new_subject)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Second-factor throttling, shared by every door (RL-01..RL-03)
    factor_failures: Mapped[int] = mapped_column(Integer, default=0)
    factor_lockouts: Mapped[int] = mapped_column(Integer, default=0)
    factor_locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    factor_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
