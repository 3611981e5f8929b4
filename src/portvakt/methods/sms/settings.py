"""SMS codes' own settings: ``[methods.sms]`` in the TOML file, ``PORTVAKT_METHODS__SMS__<NAME>``
in the environment (docs/methods/sms.md). The budgets guard against SMS pumping (toll fraud):
each is a count of codes sent, per number, per person, per address and for the whole service."""

from __future__ import annotations

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator


class SmsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_region: str = Field(
        "NO", description="Numbers typed without +country code are read as from this region"
    )
    allowed_regions: tuple[str, ...] = Field(
        (), description="Regions whose numbers may get codes (ISO 3166); default: default_region"
    )
    code_seconds: int = Field(300, ge=60, le=600, description="How long a code works")
    max_attempts: int = Field(5, ge=1, le=10, description="Wrong tries before a code ends")
    resend_seconds: int = Field(30, ge=0, le=600, description="Wait before a new code")
    per_person_quarter: int = Field(
        3, ge=1, le=100, description="Codes a person gets in 15 minutes (SECURITY.md OOB-03)"
    )
    per_person_hour: int = Field(5, ge=1, le=100, description="Codes a person gets an hour")
    per_person_day: int = Field(10, ge=1, le=1000, description="Codes a person gets a day")
    per_number_hour: int = Field(5, ge=1, le=100, description="Codes one number gets an hour")
    per_prefix_hour: int = Field(
        50, ge=1, le=100_000, description="Codes to one number range (country code + 3 digits)"
    )
    per_address_hour: int = Field(20, ge=1, le=10_000, description="Codes asked from one IP")
    per_service_hour: int = Field(1000, ge=1, le=1_000_000, description="Codes sent in all")

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phonenumbers knows (ISO 3166 alpha-2)")
        return value

    @field_validator("allowed_regions", mode="before")
    @classmethod
    def _regions(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            regions = tuple(str(part).strip().upper() for part in value)
            unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
            if unknown:
                raise ValueError(f"unknown regions: {', '.join(unknown)}")
            return regions
        return value

    @property
    def regions(self) -> frozenset[str]:
        return frozenset(self.allowed_regions or (self.default_region,))


DEFAULTS = SmsSettings()
