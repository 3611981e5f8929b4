"""Phone numbers as SMS codes need them: parsed with ``phonenumbers`` (a number typed without
``+`` is read in the default region), valid, from an allowed region, kept in E.164."""

from __future__ import annotations

from collections.abc import Set

import phonenumbers

from portvakt.errors import Invalid

MAX_LENGTH = 32


def parse(raw: str, *, default_region: str, regions: Set[str]) -> str:
    """E.164 (``+4712345678``); ``Invalid("phone_invalid")`` for anything that is not a valid
    number, ``Invalid("phone_country")`` for a valid one outside ``regions``."""
    text = raw.strip()
    if not text or len(text) > MAX_LENGTH:
        raise Invalid("phone_invalid")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid("phone_invalid") from exc
    if not phonenumbers.is_valid_number(number) or number.extension:
        raise Invalid("phone_invalid")  # an extension cannot receive a text
    if phonenumbers.region_code_for_number(number) not in regions:
        raise Invalid("phone_country")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def allowed(e164: str, regions: Set[str]) -> bool:
    """A stored number is still in an allowed region (the list may have changed)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.region_code_for_number(number) in regions


def masked(e164: str) -> str:
    """``+4712345678`` → ``•••• 78``: what the person sees of the number."""
    return f"•••• {e164[-2:]}"
