"""What every use-case needs, bundled once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from portvakt.directory.base import Directory
from portvakt.methods.registry import Registry
from portvakt.policy.knobs import Knobs
from portvakt.ports import Locator, Notifier
from portvakt.settings import Settings
from portvakt.store.db import Store


@dataclass(frozen=True, slots=True)
class Core:
    store: Store
    registry: Registry
    knobs: Knobs
    directory: Directory
    notifier: Notifier
    locator: Locator


def knobs_from_settings(settings: Settings) -> Knobs:
    return Knobs(
        mfa_required=settings.mfa_required,
        enrollment_deadline=settings.enrollment_deadline,
        remember_device_days=settings.remember_device_days,
        lockout_threshold=settings.factor_lockout_threshold,
        lockout_seconds=settings.factor_lockout_seconds,
        lockout_max_seconds=settings.factor_lockout_max_seconds,
        hard_limit=settings.factor_hard_limit,
        push_require_uv=settings.push_require_uv,
    )
