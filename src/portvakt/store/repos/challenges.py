"""Challenges of every method kind (``store.models.Challenge``), returned as
``domain.ChallengeView``. Every state change is a compare-and-set on the row's state, so an
answer, a superseding challenge and a finishing browser can never both win."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portvakt.domain import ChallengeState, ChallengeView, Purpose
from portvakt.store.models import Challenge


@dataclass(frozen=True, slots=True)
class Binding:
    """What a challenge is bound to, by typed columns: one of a sign-in in progress, a
    signed-in session stepping up, a validate-API integration, or a new credential."""

    signin_id: str | None = None
    session_id: str | None = None
    integration_id: int | None = None
    credential_id: int | None = None


@dataclass(frozen=True, slots=True)
class Bound:
    view: ChallengeView
    binding: Binding


def _view(row: Challenge) -> ChallengeView:
    return ChallengeView(
        id=row.id,
        kind=row.kind,
        user_id=row.user_id,
        purpose=Purpose(row.purpose),
        state=ChallengeState(row.state),
        credential_id=row.credential_id,
        data=dict(row.data or {}),
        created_at=row.created_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        answered_by=row.answered_by,
        reason=row.reason,
    )


def _bound(row: Challenge) -> Bound:
    binding = Binding(row.signin_id, row.session_id, row.integration_id, row.credential_id)
    return Bound(_view(row), binding)


def add(  # noqa: PLR0913 - one row's columns
    s: Session,
    *,
    id: str,
    kind: str,
    user_id: int,
    purpose: Purpose,
    binding: Binding,
    data: Mapping[str, Any],
    created_at: datetime,
    expires_at: datetime,
) -> None:
    s.add(
        Challenge(
            id=id,
            kind=kind,
            user_id=user_id,
            purpose=purpose.value,
            state=ChallengeState.PENDING.value,
            signin_id=binding.signin_id,
            session_id=binding.session_id,
            integration_id=binding.integration_id,
            credential_id=binding.credential_id,
            data=dict(data),
            created_at=created_at,
            expires_at=expires_at,
        )
    )


def get(s: Session, challenge_id: str, *, for_update: bool = False) -> Bound | None:
    if not 0 < len(challenge_id) <= 32:
        return None
    row = s.get(Challenge, challenge_id, with_for_update=for_update)
    return None if row is None else _bound(row)


def recent(s: Session, user_id: int, kind: str, since: datetime) -> list[ChallengeView]:
    """The person's challenges of ``kind`` created after ``since``, newest first."""
    rows = s.scalars(
        select(Challenge)
        .where(Challenge.user_id == user_id, Challenge.kind == kind, Challenge.created_at > since)
        .order_by(Challenge.created_at.desc(), Challenge.id)
    )
    return [_view(row) for row in rows]


def pending(s: Session, user_id: int, kind: str, now: datetime) -> list[ChallengeView]:
    """The person's unexpired pending challenges of ``kind``, oldest first."""
    rows = s.scalars(
        select(Challenge)
        .where(
            Challenge.user_id == user_id,
            Challenge.kind == kind,
            Challenge.state == ChallengeState.PENDING.value,
            Challenge.expires_at > now,
        )
        .order_by(Challenge.created_at, Challenge.id)
    )
    return [_view(row) for row in rows]


def latest_for_credential(s: Session, credential_id: int) -> ChallengeView | None:
    row = s.scalars(
        select(Challenge)
        .where(Challenge.credential_id == credential_id)
        .order_by(Challenge.created_at.desc())
    ).first()
    return None if row is None else _view(row)


def supersede(s: Session, user_id: int, kind: str) -> list[str]:
    """End the person's pending challenges of ``kind`` (not enrolments); their ids."""
    where = (
        Challenge.user_id == user_id,
        Challenge.kind == kind,
        Challenge.state == ChallengeState.PENDING.value,
        Challenge.purpose != Purpose.ENROLLMENT.value,
    )
    ids = list(s.scalars(select(Challenge.id).where(*where)))
    if ids:
        s.execute(
            update(Challenge)
            .where(Challenge.id.in_(ids), Challenge.state == ChallengeState.PENDING.value)
            .values(state=ChallengeState.SUPERSEDED.value)
            .execution_options(synchronize_session=False)
        )
    return ids


def answer(  # noqa: PLR0913 - the answer's columns
    s: Session,
    challenge_id: str,
    *,
    state: ChallengeState,
    reason: str | None,
    at: datetime,
    by: int | None,
    data: Mapping[str, Any] | None = None,
) -> bool:
    """Move a pending challenge to its answered state (compare-and-set); True if it was."""
    values: dict[str, Any] = {
        "state": state.value,
        "reason": (reason or None) and reason[:32],
        "answered_at": at,
        "answered_by": by,
    }
    if data is not None:
        values["data"] = dict(data)
    result = s.execute(
        update(Challenge)
        .where(Challenge.id == challenge_id, Challenge.state == ChallengeState.PENDING.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def set_data(s: Session, challenge_id: str, data: Mapping[str, Any]) -> None:
    """Replace a pending challenge's server-side data (a wrong code counted on it)."""
    s.execute(
        update(Challenge)
        .where(Challenge.id == challenge_id, Challenge.state == ChallengeState.PENDING.value)
        .values(data=dict(data))
        .execution_options(synchronize_session=False)
    )


def mark_undelivered(s: Session, challenge_id: str) -> None:
    """A pending challenge whose message no gateway could send: its ``reason`` says so (it
    stays pending; a new one may be asked for)."""
    s.execute(
        update(Challenge)
        .where(Challenge.id == challenge_id, Challenge.state == ChallengeState.PENDING.value)
        .values(reason="undelivered")
        .execution_options(synchronize_session=False)
    )


def use(s: Session, challenge_id: str, binding: Binding) -> str | None:
    """Move an approved challenge bound to ``binding`` to ``used`` exactly once; its kind, or
    None when it was not an approved challenge of ``binding``."""
    query = update(Challenge).where(
        Challenge.id == challenge_id, Challenge.state == ChallengeState.APPROVED.value
    )
    for column, value in (
        (Challenge.signin_id, binding.signin_id),
        (Challenge.session_id, binding.session_id),
        (Challenge.integration_id, binding.integration_id),
    ):
        query = query.where(column.is_(None) if value is None else column == value)
    used = query.values(state=ChallengeState.USED.value).returning(Challenge.kind)
    return s.execute(used.execution_options(synchronize_session=False)).scalar_one_or_none()
