"""Reading an import file (CSV with a header row, or JSON Lines) and checking each row.

Pure: no database. Every problem becomes a ``Rejection`` with the row's line number and a
stable code (never the password, hash or seed), so the whole file can be reported at once.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from portvakt.core.users import check_password_policy, check_profile
from portvakt.crypto import hashing, otp
from portvakt.directory.base import normalise_phone, normalise_username
from portvakt.errors import Invalid

FIELDS = frozenset(
    {
        "username",
        "display_name",
        "email",
        "phone",
        "password",
        "password_hash",
        "totp_secret",
        "totp_algorithm",
        "totp_digits",
        "totp_period",
    }
)
MIN_SEED_BYTES = 10  # 80 bits, as older authenticators used; RFC 4226 §4 wants 128 for new seeds
MAX_SEED_BYTES = 64
PROGRESS_STEP = 1000
_EXTRA = "\0extra"

Record = tuple[int, dict[str, Any]]  # (line number, field name → value)


class ImportFormat(enum.StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class Progress(Protocol):
    """Where long phases report to (the CLI draws a bar; the core stays framework-free)."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


class Silent:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One checked row; ``username`` is normalised, ``seed`` is the raw TOTP secret."""

    line: int
    username: str
    display_name: str | None
    email: str | None
    phone: str | None
    password: str | None
    password_hash: str | None
    seed: bytes | None
    params: otp.OtpParams | None


def guess_format(path: Path) -> ImportFormat:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return ImportFormat.CSV
    if suffix in {".jsonl", ".ndjson"}:
        return ImportFormat.JSONL
    raise Invalid("unknown_format", path.name)


def read_file(path: Path, fmt: ImportFormat | None = None) -> tuple[list[Record], list[Rejection]]:
    """Parse the file into records; lines that cannot even be parsed are rejections."""
    chosen = fmt or guess_format(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("file_not_utf8") from exc
    return _read_csv(text) if chosen is ImportFormat.CSV else _read_jsonl(text)


def check_rows(records: Sequence[Record], progress: Progress) -> tuple[list[Row], list[Rejection]]:
    """Check every record; a name seen twice (after normalisation) rejects the later line."""
    progress.start("Checking rows", len(records))
    first_line: dict[str, int] = {}
    rows: list[Row] = []
    rejected: list[Rejection] = []
    for index, (line, fields) in enumerate(records, start=1):
        try:
            name = normalise_username(_text(fields, "username") or "")
            first = first_line.setdefault(name, line)
            if first != line:
                raise Invalid("duplicate_username", f"{name}, first on line {first}")
            rows.append(_check(line, name, fields))
        except Invalid as exc:
            detail = str(exc) if str(exc) != exc.code else ""
            rejected.append(Rejection(line, exc.code, detail))
        if index % PROGRESS_STEP == 0:
            progress.advance(PROGRESS_STEP)
    progress.advance(len(records) % PROGRESS_STEP)
    return rows, rejected


# -- reading ----------------------------------------------------------------------------------


def _read_csv(text: str) -> tuple[list[Record], list[Rejection]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=_EXTRA)
    records: list[Record] = []
    rejected: list[Rejection] = []
    try:
        header = [name.strip().lower() for name in reader.fieldnames or []]
        _check_header(header)
        reader.fieldnames = header
        for row in reader:
            if _EXTRA in row:
                rejected.append(Rejection(reader.line_num, "too_many_fields"))
            else:
                records.append((reader.line_num, row))
    except csv.Error as exc:
        raise Invalid("bad_csv", f"line {reader.line_num}: {exc}") from exc
    return records, rejected


def _check_header(header: list[str]) -> None:
    if not header:
        raise Invalid("no_rows")
    unknown = sorted(set(header) - FIELDS)
    if unknown:
        raise Invalid("unknown_columns", ", ".join(unknown))
    if len(set(header)) != len(header):
        raise Invalid("duplicate_columns")
    if "username" not in header:
        raise Invalid("missing_username_column")


def _read_jsonl(text: str) -> tuple[list[Record], list[Rejection]]:
    records: list[Record] = []
    rejected: list[Rejection] = []
    # split on "\n" only: JSON strings may hold U+2028, where str.splitlines() would break
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            rejected.append(Rejection(number, "invalid_json"))
            continue
        if not isinstance(value, dict):
            rejected.append(Rejection(number, "not_an_object"))
        elif unknown := sorted(set(value) - FIELDS):
            rejected.append(Rejection(number, "unknown_fields", ", ".join(unknown)))
        else:
            records.append((number, value))
    return records, rejected


# -- checking ---------------------------------------------------------------------------------


def _check(line: int, name: str, fields: dict[str, Any]) -> Row:
    display_name = _text(fields, "display_name")
    email = _text(fields, "email")
    check_profile(display_name, email)
    password = _text(fields, "password", secret=True)
    password_hash = _text(fields, "password_hash")
    if password is not None and password_hash is not None:
        raise Invalid("password_and_hash")
    if password is not None:
        check_password_policy(password)
    if password_hash is not None and not hashing.is_supported_hash(password_hash):
        raise Invalid("unsupported_password_hash")
    seed, params = _totp(fields)
    return Row(
        line=line,
        username=name,
        display_name=display_name,
        email=email,
        phone=_phone(_text(fields, "phone")),
        password=password,
        password_hash=password_hash,
        seed=seed,
        params=params,
    )


def _text(fields: dict[str, Any], name: str, *, secret: bool = False) -> str | None:
    """A field as text; missing, null and empty all mean "not given". Stored fields must be
    printable (no NUL, which PostgreSQL refuses); a password only has to be valid UTF-8
    (JSON can carry lone surrogates such as "\\ud800")."""
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid("invalid_value", name)
    text = str(value)
    if secret:
        if not text.isascii():
            _ensure_utf8(text, name)
        return text or None
    text = text.strip()
    if not text.isprintable():
        raise Invalid("invalid_value", name)
    return text or None


def _ensure_utf8(text: str, name: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise Invalid("invalid_value", name) from exc


def _phone(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > 40:
        raise Invalid("invalid_phone")
    return normalise_phone(raw)


def _totp(fields: dict[str, Any]) -> tuple[bytes | None, otp.OtpParams | None]:
    raw = _text(fields, "totp_secret")
    algorithm = _text(fields, "totp_algorithm")
    digits = _text(fields, "totp_digits")
    period = _text(fields, "totp_period")
    if raw is None:
        if algorithm or digits or period:
            raise Invalid("totp_params_without_secret")
        return None, None
    try:
        seed = otp.b32decode(raw)
    except ValueError as exc:
        raise Invalid("invalid_totp_secret") from exc
    if not MIN_SEED_BYTES <= len(seed) <= MAX_SEED_BYTES:
        raise Invalid("totp_secret_length", f"{len(seed)} bytes")
    try:
        params = otp.OtpParams(
            algorithm=(algorithm or "SHA1").upper(),
            digits=int(digits or 6),
            period=int(period or 30),
        )
    except ValueError as exc:
        raise Invalid("invalid_totp_params", str(exc)) from exc
    return seed, params
