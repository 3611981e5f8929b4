"""Operator-facing English text for the stable error codes of ``portvakt.errors``."""

from __future__ import annotations

from portvakt.core.userimport.rows import MAX_SEED_BYTES, MIN_SEED_BYTES
from portvakt.core.users import MAX_DISPLAY_NAME, MAX_PASSWORD, MIN_PASSWORD
from portvakt.directory.base import MAX_USERNAME

MESSAGES = {
    # people
    "user_not_found": "no such user",
    "user_exists": "a user with this name already exists",
    "invalid_username": (f"invalid username (1–{MAX_USERNAME} letters, digits or . _ - @ + ')"),
    "password_too_short": f"password too short (at least {MIN_PASSWORD} characters)",
    "password_too_long": f"password too long (at most {MAX_PASSWORD} characters)",
    "invalid_display_name": (
        f"invalid display name (at most {MAX_DISPLAY_NAME} printable characters)"
    ),
    "invalid_email": "invalid email address",
    "last_method": "this is the last method and two-factor sign-in is required",
    # import: the file
    "unknown_format": "cannot tell the format from the file name; use --format csv|jsonl",
    "file_not_utf8": "the file is not UTF-8 text",
    "no_rows": "the file has no rows",
    "unknown_columns": "unknown columns in the header",
    "duplicate_columns": "a column appears twice in the header",
    "missing_username_column": "the header has no username column",
    "bad_csv": "the CSV cannot be read",
    # import: one row
    "too_many_fields": "more fields than header columns",
    "invalid_json": "not valid JSON",
    "not_an_object": "not a JSON object",
    "unknown_fields": "unknown fields",
    "invalid_value": "not printable text or a number",
    "duplicate_username": "duplicate username",
    "password_and_hash": "give password or password_hash, not both",
    "unsupported_password_hash": "password_hash is not an argon2 or bcrypt hash",
    "invalid_phone": "invalid phone number (E.164, such as +4712345678)",
    "totp_params_without_secret": "totp_algorithm, totp_digits or totp_period without totp_secret",
    "invalid_totp_secret": "totp_secret is not base32",
    "totp_secret_length": (
        f"totp_secret must be {MIN_SEED_BYTES}–{MAX_SEED_BYTES} bytes when decoded"
    ),
    "invalid_totp_params": (
        "unsupported TOTP parameters (SHA1, SHA256 or SHA512; 6 or 8 digits; 30 or 60 s)"
    ),
}


def describe(code: str, detail: str = "") -> str:
    """``invalid_phone`` → "invalid phone number (…)"; unknown codes are shown as they are."""
    text = MESSAGES.get(code, code.replace("_", " "))
    return f"{text}: {detail}" if detail else text
