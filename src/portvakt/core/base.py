"""What every use-case needs, bundled once by the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from portvakt.directory.base import Directory
from portvakt.methods.registry import Registry
from portvakt.policy.knobs import Knobs
from portvakt.ports import Locator, Notifier, Sender
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
    senders: Mapping[str, Sender] = field(default_factory=dict)  # delivery channel -> port


def allowed_kinds(settings: Settings, registry: Registry) -> frozenset[str]:
    """``allowed_methods`` if set (every name must be a registered kind), else every kind."""
    if settings.allowed_methods is None:
        return frozenset(registry.kinds())
    unknown = [kind for kind in settings.allowed_methods if kind not in registry]
    if unknown:
        raise RuntimeError(f"allowed_methods names unknown kinds: {', '.join(unknown)}")
    return frozenset(settings.allowed_methods)


def knobs_from_settings(settings: Settings, registry: Registry) -> Knobs:
    return Knobs(
        allowed_kinds=allowed_kinds(settings, registry),
        mfa_required=settings.mfa_required,
        passwordless=settings.passwordless,
        enrollment_deadline=settings.enrollment_deadline,
        remember_device_days=settings.remember_device_days,
        lockout_threshold=settings.factor_lockout_threshold,
        lockout_seconds=settings.factor_lockout_seconds,
        lockout_max_seconds=settings.factor_lockout_max_seconds,
        hard_limit=settings.factor_hard_limit,
    )
