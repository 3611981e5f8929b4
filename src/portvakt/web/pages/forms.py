"""Form field and path limits shared by the page routers (oversized or crafted input → 400,
never a 500)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import Depends, Form, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

from portvakt import wire
from portvakt.methods.registry import Registry

Username = Annotated[str, Form(max_length=256)]
Password = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=32)]
OptionalCode = Annotated[str | None, Form(max_length=32)]
Label = Annotated[str, Form(max_length=200)]
Kind = Annotated[str, Form(max_length=32)]
Flag = Annotated[str | None, Form(max_length=8)]
# A ceremony's JSON result (WebAuthn: base64url fields of a few hundred bytes to a few KiB)
Payload = Annotated[str | None, Form(max_length=32 * 1024)]
# A kind in a path (the registry decides whether it exists)
PathKind = Annotated[str, Path(min_length=2, max_length=24, pattern=r"^[a-z][a-z0-9_]+$")]
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
        cleaned = method.normalise_response(code) if shape is not None else None
        if cleaned is not None and shape is not None and re.fullmatch(shape.pattern, cleaned):
            return True
    return False


FIELD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_FIELDS = 8
MAX_VALUE = 256
KNOWN = frozenset({"csrf_token", "kind"})


async def enroll_answers(request: Request) -> dict[str, str]:
    """The fields a kind's start page posts (``Capabilities.enroll_fields``: a phone number),
    bounded: at most 8 short lower-case names with values of up to 256 characters, each once;
    anything else is a 400. The core keeps only the kind's own fields."""
    form = await request.form()
    found: dict[str, str] = {}
    for key, value in form.multi_items():
        if key in KNOWN:
            continue
        if (
            not isinstance(value, str)
            or not FIELD.match(key)
            or key in found
            or len(found) >= MAX_FIELDS
            or len(value) > MAX_VALUE
        ):
            raise RequestValidationError([{"loc": ("body", key[:32]), "msg": "invalid field"}])
        found[key] = value
    return found


Answers = Annotated[dict[str, str], Depends(enroll_answers)]


MAX_DEPTH = 8


def parse_payload(payload: str | None) -> dict[str, Any] | None:
    """A ceremony's posted JSON result as an object, or None when absent or not one (not
    JSON, not an object, nested deeper than any ceremony's result)."""
    if payload is None:
        return None
    try:
        data: Any = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or _depth(data) > MAX_DEPTH:
        return None
    return data


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level
