"""WebAuthn's own settings: ``[methods.webauthn]`` in the TOML file,
``PORTVAKT_METHODS__WEBAUTHN__<NAME>`` in the environment (``PORTVAKT_WEBAUTHN_RP_ID`` is the
short name of ``rp_id``); docs/methods/webauthn.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AAGUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class WebAuthnSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rp_id: str | None = Field(
        None,
        max_length=253,
        description="The relying party id: by default the host of PORTVAKT_PUBLIC_URL",
    )
    rp_name: str | None = Field(None, max_length=64, description="Shown by the browser")
    user_verification: Literal["required", "preferred", "discouraged"] = Field(
        "preferred", description="A PIN or biometrics on the key: required makes it so"
    )
    challenge_seconds: int = Field(120, ge=30, le=600, description="How long a ceremony may take")
    attestation: Literal["none", "required"] = Field(
        "none", description="required: only keys whose attestation verifies against the MDS"
    )
    mds_blob: Path | None = Field(None, description="A FIDO Metadata Service (MDS3) blob file")
    mds_root: Path | None = Field(
        None, description="The PEM root certificate the blob's signing chain ends in"
    )
    allowed_aaguids: tuple[str, ...] = Field(
        (), description="Only these authenticator models (AAGUIDs), by a verified attestation"
    )

    @field_validator("rp_id")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", value):
            raise ValueError("rp_id is a host name such as mfa.example.org")
        return value

    @field_validator("allowed_aaguids", mode="before")
    @classmethod
    def _aaguids(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            value = tuple(str(v).lower() for v in value)
            wrong = [v for v in value if not AAGUID.match(v)]
            if wrong:
                raise ValueError(f"not an AAGUID: {', '.join(wrong)}")
        return value

    @model_validator(mode="after")
    def _needs_metadata(self) -> WebAuthnSettings:
        wants = self.attestation == "required" or self.allowed_aaguids
        if wants and (self.mds_blob is None or self.mds_root is None):
            raise ValueError("attestation and allowed_aaguids need mds_blob and mds_root")
        return self


DEFAULTS = WebAuthnSettings()
