"""The Yubico OTP format: modhex, AES-128 decryption of the 16-byte token, CRC-16 check.

A code is the key's public id (0–16 bytes, usually 6) followed by 16 encrypted bytes, all in
modhex (hex with the letters ``cbdefghijklnrtuv``, the same on most keyboard layouts). The
plaintext is the private id (6 bytes), the usage counter (2, little-endian), a timestamp (3),
the session counter (1), a random number (2) and a CRC-16 (2) whose residue over all 16 bytes
is 0xF0B8."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MODHEX = "cbdefghijklnrtuv"
HEX = "0123456789abcdef"
_TO_HEX = str.maketrans(MODHEX, HEX)
_TO_MODHEX = str.maketrans(HEX, MODHEX)
TOKEN_CHARS = 32  # 16 bytes
MAX_PUBLIC_CHARS = 32
CRC_RESIDUE = 0xF0B8


class BadOtp(ValueError):
    """Not a Yubico OTP for this key; ``args[0]`` is the stable reason."""


@dataclass(frozen=True, slots=True)
class Plain:
    private_id: bytes
    usage: int
    timestamp: int
    session: int

    @property
    def counter(self) -> int:
        """Usage and session counters as one integer that only ever grows."""
        return self.usage << 8 | self.session


def is_modhex(text: str) -> bool:
    return bool(text) and len(text) % 2 == 0 and all(c in MODHEX for c in text)


def to_bytes(text: str) -> bytes:
    if not is_modhex(text):
        raise BadOtp("bad_modhex")
    return bytes.fromhex(text.translate(_TO_HEX))


def to_modhex(data: bytes) -> str:
    return data.hex().translate(_TO_MODHEX)


def split(code: str) -> tuple[str, str]:
    """(public id, encrypted token) of a modhex code."""
    if not is_modhex(code) or not TOKEN_CHARS <= len(code) <= TOKEN_CHARS + MAX_PUBLIC_CHARS:
        raise BadOtp("bad_modhex")
    return code[:-TOKEN_CHARS], code[-TOKEN_CHARS:]


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def decrypt(token: str, key: bytes) -> Plain:
    """Decrypt a token (32 modhex characters) with the key's AES key; ``BadOtp`` when the
    CRC does not hold (a wrong key or a mistyped code)."""
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305 - one block, as the format defines
    plain = decryptor.update(to_bytes(token)) + decryptor.finalize()
    if crc16(plain) != CRC_RESIDUE:
        raise BadOtp("bad_crc")
    return Plain(
        private_id=plain[:6],
        usage=int.from_bytes(plain[6:8], "little"),
        timestamp=int.from_bytes(plain[8:11], "little"),
        session=plain[11],
    )


def encrypt(
    key: bytes, private_id: bytes, usage: int, session: int, timestamp: int = 0, rnd: int = 0
) -> str:
    """A token as a key would type it (for tests and examples)."""
    body = private_id + usage.to_bytes(2, "little") + timestamp.to_bytes(3, "little")
    body += bytes([session]) + rnd.to_bytes(2, "little")
    crc = ~crc16(body) & 0xFFFF
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    return to_modhex(encryptor.update(body + crc.to_bytes(2, "little")) + encryptor.finalize())
