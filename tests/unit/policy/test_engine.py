"""``decide(knobs, PolicyInput) -> Decision``: grace period, enrolment, remembered devices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from portvakt.policy.engine import PolicyInput, decide
from portvakt.policy.knobs import Knobs

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
TOTP = frozenset({"totp"})
NONE: frozenset[str] = frozenset()
KINDS = frozenset({"totp", "push"})


def policy_input(
    enrolled: frozenset[str] = NONE, *, remembered: bool = False, now: datetime = NOW
) -> PolicyInput:
    return PolicyInput(door="web", enrolled_kinds=enrolled, now=now, remembered_device=remembered)


def test_decide_requires_factor_when_method_enrolled() -> None:
    decision = decide(Knobs(allowed_kinds=KINDS), policy_input(TOTP))
    assert decision.factor_required is True
    assert decision.enrollment_required is False
    assert decision.may_skip_enrollment is False
    assert decision.offered_kinds == TOTP


def test_decide_requires_enrollment_when_nothing_enrolled() -> None:
    """REC-04: no usable method and MFA required → activation, not a silent bypass."""
    decision = decide(Knobs(allowed_kinds=KINDS), policy_input())
    assert decision.enrollment_required is True
    assert decision.factor_required is False
    assert decision.may_skip_enrollment is False
    assert decision.grace_days_left is None


def test_decide_offers_only_allowed_enrolled_kinds() -> None:
    """A kind the policy no longer allows is not offered."""
    knobs = Knobs(allowed_kinds=frozenset({"totp", "webauthn"}))
    decision = decide(knobs, policy_input(frozenset({"totp", "sms"})))
    assert decision.offered_kinds == TOTP
    assert decision.enrollable_kinds == frozenset({"totp", "webauthn"})


def test_decide_requires_enrollment_when_only_disallowed_kind_enrolled() -> None:
    decision = decide(Knobs(allowed_kinds=KINDS), policy_input(frozenset({"sms"})))
    assert decision.offered_kinds == NONE
    assert decision.enrollment_required is True
    assert decision.factor_required is False


def test_decide_skips_everything_when_mfa_optional_and_nothing_enrolled() -> None:
    decision = decide(Knobs(allowed_kinds=KINDS, mfa_required=False), policy_input())
    assert decision.enrollment_required is False
    assert decision.factor_required is False


def test_decide_still_requires_enrolled_factor_when_mfa_optional() -> None:
    """A person who enrolled a method proves it even where MFA is optional."""
    decision = decide(Knobs(allowed_kinds=KINDS, mfa_required=False), policy_input(TOTP))
    assert decision.factor_required is True


# -- grace deadline ---------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 5, 30])
def test_decide_allows_skipping_enrollment_before_deadline(days: int) -> None:
    """Grace period: activation may be skipped while days remain."""
    knobs = Knobs(allowed_kinds=KINDS, enrollment_deadline=TODAY + timedelta(days=days))
    decision = decide(knobs, policy_input())
    assert decision.enrollment_required is True
    assert decision.may_skip_enrollment is True
    assert decision.grace_days_left == days


@pytest.mark.parametrize("days", [0, -1, -365])
def test_decide_refuses_skipping_enrollment_on_or_after_deadline(days: int) -> None:
    """Grace ends at the start of the deadline date (``days_left`` must be > 0)."""
    knobs = Knobs(allowed_kinds=KINDS, enrollment_deadline=TODAY + timedelta(days=days))
    decision = decide(knobs, policy_input())
    assert decision.enrollment_required is True
    assert decision.may_skip_enrollment is False
    assert decision.grace_days_left is None


def test_decide_counts_grace_days_from_input_time_not_wall_clock() -> None:
    """The clock is injected: a date far in the past is still in grace at that date."""
    then = datetime(2001, 1, 1, 8, 0, tzinfo=UTC)
    knobs = Knobs(allowed_kinds=KINDS, enrollment_deadline=date(2001, 1, 4))
    decision = decide(knobs, policy_input(now=then))
    assert (decision.may_skip_enrollment, decision.grace_days_left) == (True, 3)


def test_decide_offers_no_skip_when_person_has_a_method() -> None:
    """The grace period only concerns people who still have to enrol."""
    knobs = Knobs(allowed_kinds=KINDS, enrollment_deadline=TODAY + timedelta(days=5))
    decision = decide(knobs, policy_input(TOTP))
    assert decision.enrollment_required is False
    assert decision.may_skip_enrollment is False
    assert decision.factor_required is True


def test_decide_offers_no_skip_when_mfa_optional() -> None:
    knobs = Knobs(
        allowed_kinds=KINDS, mfa_required=False, enrollment_deadline=TODAY + timedelta(days=5)
    )
    assert decide(knobs, policy_input()).may_skip_enrollment is False


# -- remembered device ------------------------------------------------------------------------


def test_decide_waives_factor_on_remembered_device() -> None:
    """SES-06: a remembered device skips the factor prompt (the core lowers ``acr``)."""
    decision = decide(
        Knobs(allowed_kinds=KINDS, remember_device_days=20), policy_input(TOTP, remembered=True)
    )
    assert decision.factor_required is False
    assert decision.enrollment_required is False
    assert decision.remember_device_days == 20


def test_decide_ignores_remembered_device_when_feature_is_off() -> None:
    """SES-06: ``remember_device_days = 0`` turns the feature off, also for devices
    remembered before the change."""
    decision = decide(
        Knobs(allowed_kinds=KINDS, remember_device_days=0), policy_input(TOTP, remembered=True)
    )
    assert decision.factor_required is True
    assert decision.remember_device_days == 0


def test_decide_does_not_waive_enrollment_on_remembered_device() -> None:
    """REC-04: a remembered device never replaces enrolling a first method."""
    decision = decide(Knobs(allowed_kinds=KINDS), policy_input(remembered=True))
    assert decision.enrollment_required is True
    assert decision.factor_required is False


@pytest.mark.parametrize("days", [0, 20, 90])
def test_decide_passes_remember_device_days_through(days: int) -> None:
    assert (
        decide(
            Knobs(allowed_kinds=KINDS, remember_device_days=days), policy_input(TOTP)
        ).remember_device_days
        == days
    )
