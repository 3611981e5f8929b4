"""Form field and path limits shared by the page routers (oversized or crafted input → 400,
never a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from pydantic import BeforeValidator

from portvakt import wire

Username = Annotated[str, Form(max_length=256)]
Password = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=32)]
OptionalCode = Annotated[str | None, Form(max_length=32)]
Label = Annotated[str, Form(max_length=200)]
Kind = Annotated[str, Form(max_length=32)]
Flag = Annotated[str | None, Form(max_length=8)]
# An id in a path: ASCII digits that fit the id column, else 400 (wire.identifier)
Id = Annotated[int, BeforeValidator(wire.identifier)]


def code_looks_valid(code: str) -> bool:
    """Digits only (spaces and dashes allowed), 6 or 8 of them."""
    cleaned = code.replace(" ", "").replace("-", "").strip()
    return cleaned.isascii() and cleaned.isdigit() and len(cleaned) in (6, 8)
