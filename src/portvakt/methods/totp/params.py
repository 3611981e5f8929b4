"""Non-secret per-credential data for TOTP (stored as JSON beside the sealed seed)."""

from __future__ import annotations

from typing import Any

from portvakt.crypto.otp import OtpParams


def params_to_json(params: OtpParams) -> dict[str, Any]:
    return dict(params.as_json())


def params_from_json(data: dict[str, Any]) -> OtpParams:
    return OtpParams(
        algorithm=str(data.get("algorithm", "SHA1")),
        digits=int(data.get("digits", 6)),
        period=int(data.get("period", 30)),
    )
