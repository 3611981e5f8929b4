"""Operator-facing text for what a token import rejects (the methods' stable reasons)."""

from __future__ import annotations

from portvakt.cli.i18n import N_, _

REASONS = {
    # the file
    "malformed_xml": N_("the file is not well-formed XML, or has a DTD (refused)"),
    "not_pskc": N_("not a PSKC key container"),
    "key_needed": N_("the keys are encrypted with a pre-shared key: give it with --key-file"),
    "password_needed": N_("the keys are encrypted with a password: give it with --password-stdin"),
    "wrong_password_or_key": N_("wrong password or key"),
    "unsupported_key_derivation": N_("unsupported key derivation (PBKDF2 with HMAC-SHA1/256)"),
    "unsupported_mac": N_("unsupported MAC algorithm (HMAC-SHA1 or HMAC-SHA256)"),
    "unsupported_encryption": N_("unsupported encryption (AES-CBC with a key of that size)"),
    "encrypted_without_key": N_("an encrypted value but no encryption key in the file"),
    "bad_base64": N_("a value is not base64"),
    "bad_ciphertext": N_("an encrypted value has the wrong length"),
    "no_keys": N_("the file has no tokens"),
    "not_utf8": N_("the file is not UTF-8 text"),
    "serial_exists": N_("a token with this serial is already in the inventory"),
    # one token or row
    "no_mac": N_("an encrypted value without a MAC (refused: it cannot be checked)"),
    "bad_mac": N_("the MAC does not match: the value was changed or the key is wrong"),
    "unsupported_algorithm": N_("not an HOTP or TOTP key"),
    "unsupported_type": N_("type must be hotp or totp"),
    "unsupported_parameters": N_("unsupported parameters (6 or 8 digits; a period of 30 or 60 s)"),
    "unsupported_response_format": N_("codes must be decimal"),
    "no_serial": N_("no serial number"),
    "bad_serial": N_("invalid serial (1–64 letters, digits or . _ : -)"),
    "duplicate_serial": N_("the serial appears twice in the file"),
    "no_secret": N_("no secret"),
    "bad_secret": N_("the secret is neither hex nor base32"),
    "bad_value": N_("digits, period or counter is not a number"),
    "wrong_column_count": N_("expected 5 columns: serial, secret, type, digits, period or counter"),
    "too_many_rows": N_("too many rows"),
    "not_yubico_otp": N_("not a Yubico OTP row"),
    "bad_public_id": N_("the public id is not modhex (up to 32 characters)"),
    "bad_private_id": N_("the private id is not 12 hex digits"),
    "bad_aes_key": N_("the AES key is not 32 hex digits"),
}


def reason_text(reason: str) -> str:
    known = REASONS.get(reason)
    return _(known) if known is not None else reason.replace("_", " ")
