"""A hardware OATH token's non-secret params (stored as JSON beside the sealed seed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portvakt.crypto.otp import OtpParams

HOTP = "hotp"
TOTP = "totp"


@dataclass(frozen=True, slots=True)
class TokenParams:
    serial: str
    otp: str  # "hotp" (event) or "totp" (time)
    otp_params: OtpParams
    drift: int = 0  # TOTP: time steps the token's clock was ahead at its last accepted code

    def as_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "otp": self.otp,
            **self.otp_params.as_json(),
            "drift": self.drift,
        }


def from_json(data: Mapping[str, Any]) -> TokenParams:
    return TokenParams(
        serial=str(data.get("serial", "")),
        otp=HOTP if data.get("otp") == HOTP else TOTP,
        otp_params=OtpParams(
            algorithm=str(data.get("algorithm", "SHA1")),
            digits=int(data.get("digits", 6)),
            period=int(data.get("period", 30)),
        ),
        drift=int(data.get("drift", 0)),
    )


def make(
    serial: str, otp: str, *, digits: int, period: int = 30, algorithm: str = "SHA1"
) -> dict[str, Any]:
    """Params of a newly imported token; ``ValueError`` for what the service does not take."""
    if otp not in (HOTP, TOTP):
        raise ValueError("unsupported_type")
    try:
        otp_params = OtpParams(algorithm=algorithm, digits=digits, period=period)
    except ValueError as exc:
        raise ValueError("unsupported_parameters") from exc
    return TokenParams(serial, otp, otp_params).as_json()
