"""Push's own settings: ``[methods.push]`` in the TOML file, ``PORTVAKT_METHODS__PUSH__<NAME>``
in the environment (docs/methods/push.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PushSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    challenge_seconds: int = Field(60, ge=15, le=120, description="How long a request waits")
    number_digits: int = Field(2, ge=2, le=6, description="Digits of the number to match")
    match_mode: Literal["type", "pick"] = Field(
        "type", description="type the number, or pick it from three"
    )
    max_unanswered: int = Field(
        3, ge=1, le=20, description="Requests without a sign-in per window before a pause"
    )
    window_seconds: int = Field(300, ge=60, le=3600, description="The fatigue window")
    max_denials: int = Field(2, ge=1, le=10, description="Denials per window before a pause")
    pause_minutes: int = Field(20, ge=1, le=24 * 60, description="Pause after 'not me'")
    require_uv: bool = Field(False, description="Approvals need the phone's PIN or biometrics")
    activation_minutes: int = Field(10, ge=1, le=10, description="How long an activation QR works")


DEFAULTS = PushSettings()
