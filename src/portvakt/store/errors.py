"""What repo functions raise instead of SQLAlchemy's exceptions, so the core needs none."""

from __future__ import annotations


class Duplicate(Exception):
    """A row with the same unique value exists (perhaps added concurrently): the write
    transaction it was raised in must end (``Store.write`` rolls it back)."""
