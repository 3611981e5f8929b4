"""Form field and path limits shared by the page routers (oversized or crafted input → 400,
never a 500)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form
from pydantic import BeforeValidator

from portvakt import wire
from portvakt.methods.registry import Registry

MAX_CODE = 256

Username = Annotated[str, Form(max_length=256)]
Password = Annotated[str, Form(max_length=1024)]
# A typed code: no door-level length or digit rule beyond the interface's ceiling (a
# ``CodeShape`` is at most 256 long); each kind's shape decides (``code_looks_valid``), so a
# 44-character YubiKey OTP and a 6-digit code both reach their kind.
Code = Annotated[str, Form(max_length=MAX_CODE)]
OptionalCode = Annotated[str | None, Form(max_length=MAX_CODE)]
Label = Annotated[str, Form(max_length=200)]
Kind = Annotated[str, Form(max_length=32)]
Flag = Annotated[str | None, Form(max_length=8)]
# An id in a path: ASCII digits that fit the id column, else 400 (wire.identifier)
Id = Annotated[int, BeforeValidator(wire.identifier)]


def code_looks_valid(registry: Registry, code: str, kind: str | None = None) -> bool:
    """The code has the shape of ``kind``'s codes (of any typed-code kind when None): what
    its method's ``normalise_response`` keeps, matching its ``CodeShape``. Anything else gets
    a 400 before the core is asked."""
    kinds = (kind,) if kind else registry.code_kinds("web")
    for name in kinds:
        if name not in registry:
            continue
        method = registry.get(name)
        shape = method.capabilities.code
        if shape is None or len(code) > shape.max_length:
            continue
        cleaned = method.normalise_response(code)
        if cleaned is not None and shape is not None and re.fullmatch(shape.pattern, cleaned):
            return True
    return False
