"""``decide(knobs, PolicyInput) -> Decision``: evaluated once per sign-in step, before any
side effect, and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from portvakt.policy.knobs import Knobs


@dataclass(frozen=True, slots=True)
class PolicyInput:
    door: str
    enrolled_kinds: frozenset[str]
    now: datetime
    remembered_device: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    factor_required: bool  # a second factor must be proven in this sign-in
    enrollment_required: bool  # the person has no usable method and must add one now
    may_skip_enrollment: bool  # grace period still running
    grace_days_left: int | None
    offered_kinds: frozenset[str]  # enrolled kinds the person may use now
    enrollable_kinds: frozenset[str]
    remember_device_days: int


def decide(knobs: Knobs, data: PolicyInput) -> Decision:
    offered = data.enrolled_kinds & knobs.allowed_kinds
    today = data.now.date()
    days_left = _days_left(knobs.enrollment_deadline, today)
    in_grace = days_left is not None and days_left > 0
    needs_enrollment = knobs.mfa_required and not offered
    # remember_device_days = 0 switches the feature off, for devices remembered earlier too
    remembered = data.remembered_device and knobs.remember_device_days > 0
    factor_required = bool(offered) and not remembered
    return Decision(
        factor_required=factor_required,
        enrollment_required=needs_enrollment,
        may_skip_enrollment=needs_enrollment and in_grace,
        grace_days_left=days_left if in_grace else None,
        offered_kinds=offered,
        enrollable_kinds=knobs.allowed_kinds,
        remember_device_days=knobs.remember_device_days,
    )


def _days_left(deadline: date | None, today: date) -> int | None:
    if deadline is None:
        return None
    return (deadline - today).days
