"""CSV import of OATH tokens, one a row: ``serial, secret, type, digits, period_or_counter``.
The secret is hex when it is only hex digits of an even length, otherwise base32 (a ``hex:``
or ``base32:`` prefix settles it); type is ``hotp`` or ``totp``; the last column is the TOTP
period (30 or 60) or the HOTP counter to start at. A first row starting with ``serial`` is a
header; empty rows and rows starting with ``#`` are skipped."""

from __future__ import annotations

import csv
import io
import re

from portvakt.crypto import otp
from portvakt.methods.base import ImportedToken, ParsedTokens, Rejected
from portvakt.methods.oath.params import HOTP, make

HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
MAX_ROWS = 100_000


def parse(data: bytes) -> ParsedTokens:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedTokens(rejected=(Rejected("file", "not_utf8"),))
    tokens: list[ImportedToken] = []
    rejected: list[Rejected] = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#") or (n == 1 and cells[0].lower() == "serial"):
            continue
        if n > MAX_ROWS:
            rejected.append(Rejected(f"row {n}", "too_many_rows"))
            break
        try:
            tokens.append(_token(cells))
        except ValueError as exc:
            rejected.append(Rejected(f"row {n}", str(exc)))
    if not tokens and not rejected:
        rejected.append(Rejected("file", "no_keys"))
    return ParsedTokens(tuple(tokens), tuple(rejected))


def secret_of(text: str) -> bytes:
    kind, _, value = (
        text.partition(":") if text.lower().startswith(("hex:", "base32:")) else ("", "", text)
    )
    value = "".join(value.split())
    if kind.lower() == "hex" or (not kind and HEX.fullmatch(value)):
        if not HEX.fullmatch(value):
            raise ValueError("bad_secret")
        return bytes.fromhex(value)
    try:
        return otp.b32decode(value)
    except ValueError as exc:
        raise ValueError("bad_secret") from exc


def _token(cells: list[str]) -> ImportedToken:
    if len(cells) != 5:
        raise ValueError("wrong_column_count")
    serial, secret_text, kind, digits_text, last = cells
    if not serial:
        raise ValueError("no_serial")
    secret = secret_of(secret_text)
    if not digits_text.isdigit() or not last.isdigit():
        raise ValueError("bad_value")
    kind = kind.lower()
    counter = int(last) if kind == HOTP else 0
    period = 30 if kind == HOTP else int(last)
    params = make(serial, kind, digits=int(digits_text), period=period)
    replay = counter - 1 if counter > 0 else None
    return ImportedToken(serial=serial, secret=secret, params=params, counter=replay)
