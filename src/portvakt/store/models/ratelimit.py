from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


class RateCounter(Base):
    """Fixed-window counters shared by every instance (per IP, per account name)."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)


class NameLock(Base):
    """The second-factor lock state of a name that is not a live person (unknown, disabled or
    malformed), so that it locks exactly as a person's would (RL-02, RL-06). Kept under a keyed
    hash of the normalised name (``SecretBox.keyed_hash``, purpose ``name-lock``), never the
    name itself; pruned by ``core.maintenance`` some time after its last failure."""

    __tablename__ = "name_lock"

    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
