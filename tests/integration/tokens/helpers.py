"""Token files and codes shared by the token tests."""

from __future__ import annotations

from portvakt.crypto import otp
from portvakt.methods.yubiotp import otp as yotp

SEED = bytes.fromhex("3132333435363738393031323334353637383930")
KEY = "ecde18dbe76fbd0c33330f1c354871db"
PRIVATE = "8792ebfe26cc"
PUBLIC = "vvccccfiluij"
OTHER_PUBLIC = "vvccccdcbbbb"
YUBICO_LOG = (
    "LOGGING START,05.12.26 12:00\n"
    f"Yubico OTP,05.12.26 12:00,1,{PUBLIC},{PRIVATE},{KEY},,,0,0,0,0,0,0,0,0,0,0\n"
    f"Yubico OTP,05.12.26 12:01,1,{OTHER_PUBLIC},010203040506,{'11' * 16},,,0,0,0,0,0,0,0,0\n"
)
OATH_CSV = f"serial,secret,type,digits,period_or_counter\nfob-1,{SEED.hex()},hotp,6,0\n"


def touch(usage: int, session: int, *, public: str = PUBLIC) -> str:
    """A YubiKey OTP as the key at ``public`` types it."""
    return public + yotp.encrypt(bytes.fromhex(KEY), bytes.fromhex(PRIVATE), usage, session)


def hotp(counter: int) -> str:
    return otp.hotp(SEED, counter)
