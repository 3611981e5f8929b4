"""The contract every method kind implements. Methods are pure: no SQL, no HTTP; the core
looks up the credential and the challenge, calls the method, and applies the ``Verdict``."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from portvakt.context import Context
from portvakt.domain import CredentialView, UserRef, Verdict


class Strength(enum.StrEnum):
    WEAK = "weak"
    STRONG = "strong"
    PHISHING_RESISTANT = "phishing_resistant"


@dataclass(frozen=True, slots=True)
class Capabilities:
    interactive: bool  # the person types a response
    doors: frozenset[str]  # doors this kind can serve
    strength: Strength
    amr: tuple[str, ...]  # RFC 8176 values reported when this kind was used


@dataclass(frozen=True, slots=True)
class EnrollmentStep:
    """A new credential's secret (sealed by the core) and its non-secret params."""

    secret: bytes = field(repr=False)
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FactorResponse:
    code: str


class Method(Protocol):
    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def begin_enrollment(self, ctx: Context, user: UserRef) -> EnrollmentStep:
        """Create a new secret for a pending credential."""
        ...

    def enrollment_display(
        self, ctx: Context, user: UserRef, cred: CredentialView
    ) -> dict[str, str]:
        """What the person must see to finish enrolling a pending credential
        (e.g. ``{"uri": "otpauth://…", "secret_text": "ABCD EFGH …"}``)."""
        ...

    def verify(self, ctx: Context, cred: CredentialView, resp: FactorResponse) -> Verdict:
        """Check one response against exactly one credential. Return the new replay state in
        ``Verdict.counter``; never apply it."""
        ...

    def normalise_response(self, raw: str) -> str | None:
        """Clean what the person typed (spaces, dashes); None if it can never be valid."""
        ...
