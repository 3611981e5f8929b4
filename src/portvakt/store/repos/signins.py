"""Writes to a sign-in in progress that other use-cases make inside their transaction."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from portvakt.store.models import SignIn


def set_pending_credential(s: Session, signin_id: str, credential_id: int) -> None:
    """The credential being added during this sign-in's activation."""
    s.execute(
        update(SignIn)
        .where(SignIn.id == signin_id)
        .values(pending_credential_id=credential_id)
        .execution_options(synchronize_session=False)
    )
