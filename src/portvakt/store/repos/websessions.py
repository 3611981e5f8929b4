"""Writes to a signed-in session's row that other use-cases make inside their transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from portvakt.store.models import WebSession


def mark_factor(s: Session, session_id: str, *, method: str, at: datetime) -> None:
    """A second factor was proven in this session just now (step-up)."""
    s.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(factor_at=at, method=method)
        .execution_options(synchronize_session=False)
    )
