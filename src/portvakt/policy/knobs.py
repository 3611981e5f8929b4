"""The policy knobs, declared once: name, default, help. Settings supply the values today;
per-group rules (a later issue) override them in the same shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Knobs:
    mfa_required: bool = True
    passwordless: bool = False  # a passkey (Capabilities.first_step) may replace the password
    enrollment_deadline: date | None = None  # grace: activation may be skipped until this date
    remember_device_days: int = 20  # 0 hides "don't ask again on this device"
    allowed_kinds: frozenset[str] = frozenset()  # the composition root: every registered kind
    lockout_threshold: int = 10
    lockout_seconds: int = 300
    lockout_max_seconds: int = 3600
    hard_limit: int = 100
