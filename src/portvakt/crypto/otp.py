"""HOTP (RFC 4226) and TOTP (RFC 6238) over pyotp, with the parameters we allow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
ALLOWED_DIGITS = (6, 8)
ALLOWED_PERIODS = (30, 60)


@dataclass(frozen=True, slots=True)
class OtpParams:
    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30

    def __post_init__(self) -> None:
        if self.algorithm not in DIGESTS:
            raise ValueError(f"unsupported algorithm {self.algorithm!r}")
        if self.digits not in ALLOWED_DIGITS:
            raise ValueError(f"unsupported digits {self.digits!r}")
        if self.period not in ALLOWED_PERIODS:
            raise ValueError(f"unsupported period {self.period!r}")

    def as_json(self) -> dict[str, str | int]:
        """The stored form (a TOTP credential's params)."""
        return {"algorithm": self.algorithm, "digits": self.digits, "period": self.period}


def b32(secret: bytes) -> str:
    """Base32 without padding, as the Key Uri Format wants."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def b32decode(text: str) -> bytes:
    """Decode a user-supplied base32 seed (spaces and case ignored); ``ValueError`` if bad."""
    cleaned = "".join(text.split()).upper().rstrip("=")
    if not cleaned or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in cleaned):
        raise ValueError("not base32")
    padded = cleaned + "=" * (-len(cleaned) % 8)
    try:
        return base64.b32decode(padded)
    except (ValueError, base64.binascii.Error) as exc:  # type: ignore[attr-defined]
        raise ValueError("not base32") from exc


def hotp(secret: bytes, counter: int, params: OtpParams = OtpParams()) -> str:
    """RFC 4226 §5.3 HOTP value for ``counter`` (any non-negative 64-bit integer).

    Computed here rather than with pyotp, which refuses seeds under 112 bits since 2.10: the
    80-bit seeds of older hardware tokens and many services must still work when imported.
    The RFC 4226 and RFC 6238 vectors and a cross-check against pyotp prove it."""
    if not 0 <= counter < 2**64:
        raise ValueError("counter out of range")
    mac = hmac.new(secret, struct.pack(">Q", counter), DIGESTS[params.algorithm]).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 10**params.digits:0{params.digits}d}"


def time_step(unix_time: float, params: OtpParams = OtpParams()) -> int:
    """RFC 6238 §4.2: T = floor((now - T0) / X) with T0 = 0."""
    return int(unix_time // params.period)


def totp(secret: bytes, unix_time: float, params: OtpParams = OtpParams()) -> str:
    return hotp(secret, time_step(unix_time, params), params)


def candidate_steps(unix_time: float, params: OtpParams, window: int) -> Iterator[int]:
    """Steps to try, current first, then ±1 … ±window (RFC 6238 §5.2)."""
    now = time_step(unix_time, params)
    yield now
    for delta in range(1, window + 1):
        yield now - delta
        yield now + delta


def match_totp(
    secret: bytes, code: str, unix_time: float, *, params: OtpParams, window: int
) -> int | None:
    """Return the matching time step for ``code``, or None. Compares in constant time."""
    # isascii first: str.isdigit() accepts non-ASCII digits ("١٢٣٤٥٦", "²"), and
    # hmac.compare_digest raises TypeError on non-ASCII str.
    if len(code) != params.digits or not code.isascii() or not code.isdigit():
        return None
    found: int | None = None
    for step in candidate_steps(unix_time, params, window):
        if step >= 0 and hmac.compare_digest(hotp(secret, step, params), code):
            found = step if found is None else found
    return found


def provisioning_uri(secret: bytes, *, issuer: str, account: str, params: OtpParams) -> str:
    """Key Uri Format: ``otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…`` (no colons inside)."""
    issuer_clean = issuer.replace(":", " ").strip()
    account_clean = account.replace(":", " ").strip()
    label = quote(f"{issuer_clean}:{account_clean}", safe=":@")
    query = urlencode(
        {
            "secret": b32(secret),
            "issuer": issuer_clean,
            "algorithm": params.algorithm,
            "digits": params.digits,
            "period": params.period,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"
