from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, false
from sqlalchemy.orm import Mapped, mapped_column

from portvakt.store.models.base import Base, UtcDateTime


class Integration(Base):
    """A system allowed to call the validate API. Its API key is stored only as a keyed hash
    (``SecretBox.keyed_hash``, purpose ``api-key``) and looked up by it. With
    ``trust_client_ip`` the ``client_ip`` it sends (the end user's address) is believed."""

    __tablename__ = "integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    trust_client_ip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
