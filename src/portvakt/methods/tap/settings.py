"""The temporary access pass's own settings: ``[methods.tap]`` in the TOML file,
``PORTVAKT_METHODS__TAP__<NAME>`` in the environment (docs/methods/tap.md)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_hours: int = Field(1, ge=1, le=24 * 30, description="Hours a pass works by default")
    max_hours: int = Field(72, ge=1, le=24 * 30, description="The most hours an operator may give")
    default_uses: int = Field(1, ge=1, le=100, description="Sign-ins a pass allows by default")
    max_uses: int = Field(10, ge=1, le=100, description="The most uses an operator may give")

    @model_validator(mode="after")
    def _defaults_within_bounds(self) -> Self:
        if self.default_hours > self.max_hours or self.default_uses > self.max_uses:
            raise ValueError("default_hours and default_uses must not exceed their maximum")
        return self


DEFAULTS = TapSettings()
