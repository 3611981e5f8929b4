"""The YubiKey personalization tool's CSV log: one row per programmed key. Both of its
formats are read: the traditional log (``Yubico OTP,<time>,<slot>,<public id>,<private id>,
<AES key>,…``) and the Yubico format (``<serial>,<public id>,<private id>,<AES key>,…``).
``LOGGING START`` lines and empty rows are skipped; a row of another configuration (OATH-HOTP,
static password, challenge-response) is reported, and nothing is imported then."""

from __future__ import annotations

import csv
import io
import re

from portvakt.methods.base import ImportedToken, ParsedTokens, Rejected
from portvakt.methods.yubiotp import otp

HEX12 = re.compile(r"[0-9a-fA-F]{12}")
HEX32 = re.compile(r"[0-9a-fA-F]{32}")
TRADITIONAL = "yubico otp"


def parse(data: bytes) -> ParsedTokens:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedTokens(rejected=(Rejected("file", "not_utf8"),))
    tokens: list[ImportedToken] = []
    rejected: list[Rejected] = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].upper().startswith("LOGGING START"):
            continue
        try:
            tokens.append(_token(cells))
        except ValueError as exc:
            rejected.append(Rejected(f"row {n}", str(exc)))
    if not tokens and not rejected:
        rejected.append(Rejected("file", "no_keys"))
    return ParsedTokens(tuple(tokens), tuple(rejected))


def _token(cells: list[str]) -> ImportedToken:
    if len(cells) >= 6 and cells[0].lower() == TRADITIONAL:
        public_id, private_id, key = cells[3], cells[4], cells[5]
    elif len(cells) >= 4 and cells[0].isdigit():
        public_id, private_id, key = cells[1], cells[2], cells[3]
    else:
        raise ValueError("not_yubico_otp")
    public_id = public_id.lower()
    if not otp.is_modhex(public_id) or len(public_id) > otp.MAX_PUBLIC_CHARS:
        raise ValueError("bad_public_id")
    if not HEX12.fullmatch(private_id):
        raise ValueError("bad_private_id")
    if not HEX32.fullmatch(key) or not any(bytes.fromhex(key)):
        raise ValueError("bad_aes_key")
    secret = bytes.fromhex(key) + bytes.fromhex(private_id)
    return ImportedToken(serial=public_id, secret=secret, params={"serial": public_id})
