"""Strict reading of the values a request carries, before any of them reaches the database.

Every identifier, number and opaque token read from the wire goes through one of these
functions, which answer a value of the expected type or raise ``Malformed``; a door turns that
into its precise 4xx. What they refuse, and why it mattered:

* ``str.isdigit`` is true for ``"²"``, ``"٣"`` and other Unicode digits, which ``int``
  refuses (a ``ValueError`` far from the door): only ASCII digits are digits here.
* A number of 40 digits parses, and then overflows the database's integer column (SQLite
  raises, PostgreSQL refuses): an identifier is at most ``MAX_ID``, the largest value of the
  ``INTEGER`` primary keys.
* PostgreSQL refuses text containing NUL (``U+0000``): no token contains one, nor any
  character outside its alphabet.
* A JSON list or object where a string belongs: only a ``str`` is read as one.

Pure: no I/O.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # the largest INTEGER (PostgreSQL int4): every id column is one
_ID = re.compile(r"[1-9][0-9]{0,9}")  # canonical: no sign, no leading zero, no spaces
_DIGITS = re.compile(r"[0-9]+")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")  # base64url without padding: protocol.new_id, tokens


class Malformed(ValueError):
    """A value that is not of the shape its field requires."""


def identifier(value: object) -> int:
    """A database id written as ASCII digits in canonical form (``"42"``; not ``"042"``,
    ``"+42"``, ``" 42"`` or ``"²"``), from 1 to ``MAX_ID``."""
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise Malformed("not an identifier")
    number = int(value)
    if number > MAX_ID:
        raise Malformed("identifier out of range")
    return number


def number(value: object, *, max_digits: int) -> int:
    """A non-negative whole number written as 1 to ``max_digits`` ASCII digits."""
    if not isinstance(value, str) or not 0 < len(value) <= max_digits:
        raise Malformed("not a number")
    if _DIGITS.fullmatch(value) is None:
        raise Malformed("not a number")
    return int(value)


def prefixed_identifier(value: object, *, max_length: int) -> tuple[int, str]:
    """``"<id>.<rest>"`` (a device id, an activation code) as ``(id, rest)``: the whole at
    most ``max_length`` characters, ``rest`` possibly empty."""
    if not isinstance(value, str) or len(value) > max_length:
        raise Malformed("too long")
    head, _, rest = value.partition(".")
    return identifier(head), rest


def token(value: object, *, max_length: int) -> str:
    """An opaque token of 1 to ``max_length`` base64url characters (``A-Z a-z 0-9 _ -``)."""
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise Malformed("not a token")
    if _TOKEN.fullmatch(value) is None:
        raise Malformed("not a token")
    return value


def printable(value: object, max_length: int) -> str:
    """The printable characters of a text (no NUL, no other control), at most ``max_length``
    of them; "" for anything that is not a ``str``. For what a client names itself."""
    if not isinstance(value, str):
        return ""
    return "".join(ch for ch in value if ch.isprintable())[:max_length]
