"""Operator-facing text for the stable error codes of ``portvakt.errors`` (translated when
shown; the limits are filled in after translation)."""

from __future__ import annotations

from portvakt.cli.i18n import N_, _
from portvakt.core.userimport.rows import MAX_SEED_BYTES, MIN_SEED_BYTES
from portvakt.core.users import MAX_DISPLAY_NAME, MAX_PASSWORD, MIN_PASSWORD
from portvakt.directory.base import MAX_USERNAME

LIMITS = {
    "max_username": MAX_USERNAME,
    "min_password": MIN_PASSWORD,
    "max_password": MAX_PASSWORD,
    "max_display_name": MAX_DISPLAY_NAME,
    "min_seed_bytes": MIN_SEED_BYTES,
    "max_seed_bytes": MAX_SEED_BYTES,
}

MESSAGES = {
    # OpenID Connect apps
    "client_exists": N_("an app with this name already exists"),
    "client_not_found": N_("no such app"),
    "invalid_client_name": N_("invalid app name (1–64 printable characters)"),
    "redirect_uri_required": N_("give at least one --redirect-uri"),
    "invalid_redirect_uri": N_(
        "invalid redirect URI (absolute, no fragment, no wildcard, no user name)"
    ),
    "redirect_uri_not_https": N_("redirect URIs must use https, except on 127.0.0.1 or localhost"),
    "invalid_scope": N_(
        "unknown scope (openid, profile, email, phone, address; openid is required)"
    ),
    "invalid_alg": N_("unknown ID token algorithm (ES256 or RS256)"),
    "public_client_credentials": N_("a public app cannot use the client-credentials grant"),
    "public_client_has_no_secret": N_("a public app has no secret"),
    "public_client_needs_pkce": N_(
        "a public app cannot be allowed to sign in without PKCE (--allow-without-pkce)"
    ),
    # people
    "user_not_found": N_("no such user"),
    "user_exists": N_("a user with this name already exists"),
    "invalid_username": N_("invalid username (1–%(max_username)s letters, digits or . _ - @ + ')"),
    "password_too_short": N_("password too short (at least %(min_password)s characters)"),
    "password_too_long": N_("password too long (at most %(max_password)s characters)"),
    "invalid_display_name": N_(
        "invalid display name (at most %(max_display_name)s printable characters)"
    ),
    "invalid_email": N_("invalid email address"),
    "last_method": N_("this is the last method and two-factor sign-in is required"),
    "user_disabled": N_("the user is disabled; enable them first"),
    "no_password": N_(
        "the user has no password, and a temporary access pass works only after the password; "
        "set one first"
    ),
    "kind_not_allowed": N_("no temporary access pass kind is registered and allowed"),
    "hours_out_of_range": N_("--hours is out of range"),
    "uses_out_of_range": N_("--uses is out of range"),
    # import: the file
    "unknown_format": N_("cannot tell the format from the file name; use --format csv|jsonl"),
    "file_not_utf8": N_("the file is not UTF-8 text"),
    "no_rows": N_("the file has no rows"),
    "unknown_columns": N_("unknown columns in the header"),
    "duplicate_columns": N_("a column appears twice in the header"),
    "missing_username_column": N_("the header has no username column"),
    "bad_csv": N_("the CSV cannot be read"),
    # import: one row
    "too_many_fields": N_("more fields than header columns"),
    "invalid_json": N_("not valid JSON"),
    "not_an_object": N_("not a JSON object"),
    "unknown_fields": N_("unknown fields"),
    "invalid_value": N_("not printable text or a number"),
    "duplicate_username": N_("duplicate username"),
    "password_and_hash": N_("give password or password_hash, not both"),
    "unsupported_password_hash": N_("password_hash is not an argon2 or bcrypt hash"),
    "invalid_phone": N_("invalid phone number (E.164, such as +4712345678)"),
    "totp_params_without_secret": N_(
        "totp_algorithm, totp_digits or totp_period without totp_secret"
    ),
    "invalid_totp_secret": N_("totp_secret is not base32"),
    "totp_secret_length": N_(
        "totp_secret must be %(min_seed_bytes)s–%(max_seed_bytes)s bytes when decoded"
    ),
    "invalid_totp_params": N_(
        "unsupported TOTP parameters (SHA1, SHA256 or SHA512; 6 or 8 digits; 30 or 60 s)"
    ),
}


def describe(code: str, detail: str = "") -> str:
    """``invalid_phone`` → "invalid phone number (…)" in the operator's language; unknown codes
    are shown as they are. ``detail`` (a name, a field) is appended untranslated."""
    known = MESSAGES.get(code)
    text = _(known) % LIMITS if known is not None else code.replace("_", " ")
    return f"{text}: {detail}" if detail else text
