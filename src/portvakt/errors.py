"""One exception family for the whole service.

Doors map these to answers: ``Invalid`` → 400/422, ``Denied`` → 401/403, ``NotFound`` → 404,
``Throttled`` → 429 (with ``retry_after``), ``Conflict`` → 409. The ``code`` is a stable,
machine-readable reason; the human text is produced by the door, in the user's language.
"""

from __future__ import annotations


class PortvaktError(Exception):
    """Base class; ``code`` is a stable identifier such as ``invalid_credentials``."""

    code: str = "error"

    def __init__(self, code: str | None = None, message: str = "") -> None:
        if code is not None:
            self.code = code
        super().__init__(message or self.code)


class Invalid(PortvaktError):
    code = "invalid"


class Denied(PortvaktError):
    code = "denied"


class NotFound(PortvaktError):
    code = "not_found"


class Conflict(PortvaktError):
    code = "conflict"


class Throttled(PortvaktError):
    code = "throttled"

    def __init__(self, code: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(code)
        self.retry_after = max(1, int(retry_after))
