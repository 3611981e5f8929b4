"""The method interface, version 2 (docs/extend.md): what every sign-in method kind implements.

Methods are pure: no SQL, no HTTP, no clock but ``ctx.now()``. The core reads the person, their
credentials and the challenge, calls the method, and applies what the ``Verdict`` says under
the row lock; it hands an ``Issued`` challenge's ``deliveries`` to a port after the commit. A
door reads ``Capabilities`` to know how to collect an answer and never names a kind.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from portvakt.context import Context
from portvakt.domain import (
    TERMINAL,
    ChallengeState,
    ChallengeView,
    CredentialView,
    Purpose,
    UserRef,
)

__all__ = ["TERMINAL", "ChallengeState", "ChallengeView", "Purpose"]  # re-exported for methods


NO_ANSWERS: Mapping[str, str] = MappingProxyType({})


class Strength(enum.StrEnum):
    WEAK = "weak"
    STRONG = "strong"
    PHISHING_RESISTANT = "phishing_resistant"


class Answer(enum.StrEnum):
    """How a door collects the person's answer."""

    CODE = "code"  # a typed code (``Capabilities.code`` says its shape)
    CEREMONY = "ceremony"  # a browser ceremony whose result is posted as a JSON payload
    NONE = "none"  # nothing typed: answered out of band (an app, a link)


class Grant(enum.StrEnum):
    """What a sign-in with a kind opens (a session's ``scope``)."""

    FULL = "full"  # everything the person may do
    ENROLLMENT = "enrollment"  # only adding a method on Security info (and signing out)


@dataclass(frozen=True, slots=True)
class CodeShape:
    """A typed code as the door should ask for it. ``pattern`` matches the *normalised* code
    (``normalise_response``); ``max_length`` bounds the raw input (spaces and dashes too)."""

    pattern: str
    max_length: int
    numeric: bool = True  # ``inputmode=numeric`` on phones
    min_length: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.min_length <= self.max_length <= 256:
            raise ValueError("a code shape needs 0 < min_length <= max_length <= 256")


@dataclass(frozen=True, slots=True)
class Capabilities:
    answer: Answer
    doors: frozenset[str]  # Door values this kind can serve
    strength: Strength
    amr: tuple[str, ...]  # RFC 8176 values reported when this kind was used
    challenge: bool = False  # a challenge must be issued before an answer is checked
    code: CodeShape | None = None  # required when ``answer`` is ``Answer.CODE``
    enrollable: bool = True  # people add it themselves (Security info, first activation)
    # a way back in, not a way to sign in day to day (recovery codes): never offered at first
    # activation, never the default, listed last
    fallback: bool = False
    one_per_person: bool = False  # a new one, once confirmed, replaces the person's old one
    # fields the person fills in before ``begin_enrollment`` (``templates/start.html``)
    enroll_fields: tuple[str, ...] = ()
    # an operator issues it to a person (``issue``: ``portvakt user tap``); people never add it
    issued_by_operator: bool = False
    # what a sign-in with it opens: a full session, or one that may only add a method
    grants: Grant = Grant.FULL
    # signs a person in without a password where policy allows (``passwordless``): a passkey
    # names them and proves two factors at once (``first_step_options``, ``identify``)
    first_step: bool = False

    def __post_init__(self) -> None:
        if (self.answer is Answer.CODE) != (self.code is not None):
            raise ValueError("a code shape is given exactly when the answer is a typed code")
        if self.issued_by_operator and self.enrollable:
            raise ValueError("a kind an operator issues is not one people add themselves")

    @property
    def interactive(self) -> bool:
        """The person types the answer into the door."""
        return self.answer is Answer.CODE


@dataclass(frozen=True, slots=True)
class Delivery:
    """Something to send once the transaction has committed, through the port ``channel``
    (``notify``: an event on ``to``, a topic; ``sms``: a text to ``to``, an E.164 number)."""

    channel: str
    to: str
    payload: Mapping[str, Any] = field(repr=False)  # may hold a code: never in a log line


@dataclass(frozen=True, slots=True)
class ChallengeRequest:
    """What ``challenge`` is asked: a new challenge ``id`` (already chosen by the core) for
    ``user``, answerable by ``credentials`` (their active ones of this kind), for ``purpose``;
    ``recent`` are the person's challenges of this kind from the last hour, newest first (for
    fatigue and resend limits)."""

    id: str
    user: UserRef
    credentials: Sequence[CredentialView]
    purpose: Purpose
    recent: Sequence[ChallengeView] = ()
    place: Mapping[str, str] = field(default_factory=dict)  # browser, os, city, country, ip


@dataclass(frozen=True, slots=True)
class SendBudget:
    """A counter the core spends when it sends something (SMS pumping, resend limits): with
    ``limit`` already spent in the last ``seconds`` nothing is sent or kept, the answer is
    ``errors.Throttled("send_budget")``, and ``<kind>.budget_exceeded`` is audited with
    ``name``. ``key`` should not hold personal data as such (hash a phone number)."""

    name: str  # for the audit row: ``number``, ``person``, ``address``, ``service``
    key: str
    limit: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Issued:
    """A new challenge: ``data`` is kept server-side (never shown), ``prompt`` is what the door
    shows (a number to match, a masked phone number, WebAuthn options), ``deliveries`` go out
    after the commit. With ``supersede`` the person's older pending challenges of this kind
    (other than enrolments) end."""

    data: Mapping[str, Any] = field(repr=False)
    seconds: int
    prompt: Mapping[str, Any] = field(default_factory=dict)
    deliveries: tuple[Delivery, ...] = ()
    supersede: bool = True
    budgets: tuple[SendBudget, ...] = ()  # spent by the core when it keeps the challenge


class CounterRule(enum.StrEnum):
    """How a new replay counter compares with the stored one (compare-and-set in the store)."""

    INCREASING = "increasing"  # must be above the stored value (TOTP time step, HOTP)
    SIGN_COUNT = "sign_count"  # WebAuthn: above the stored value, or 0 while it stays 0


@dataclass(frozen=True, slots=True)
class Counter:
    value: int
    rule: CounterRule = CounterRule.INCREASING


@dataclass(frozen=True, slots=True)
class FactorResponse:
    """One answer: a normalised typed ``code``, or a ``payload`` (a browser ceremony's JSON, or
    an app's signed message as ``{"token": …}``)."""

    code: str = ""
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a method decided about one response, with the state changes the core applies
    (never the method): ``counter`` by compare-and-set, ``consumed`` (a one-time code's id,
    kept in ``params["used"]``), ``params`` (replacing the credential's non-secret params),
    ``challenge`` (the challenge's new state; by default approved when ``ok``, failed when
    not). ``reason`` is a stable code when not ``ok``; ``counts`` says whether a failure counts
    towards the lockout (a person saying "no" does not; a wrong number does)."""

    ok: bool
    reason: str = ""
    counter: Counter | None = None
    consumed: str | None = None
    params: Mapping[str, Any] | None = None
    challenge: ChallengeState | None = None
    counts: bool = True
    alert: bool = False  # the person reports that someone else is trying ("not me")
    forget_secret: bool = False  # finishing enrolment drops the sealed secret (shown once)
    details: Mapping[str, Any] | None = None  # for the audit row
    # the challenge's new server-side data (a wrong code counted while it stays pending)
    challenge_data: Mapping[str, Any] | None = None
    # (from ``finish_enrollment``) a param no other active credential of the kind may hold: a
    # WebAuthn credential id is registered to one person only
    unique: tuple[str, str] | None = None

    @property
    def challenge_state(self) -> ChallengeState:
        if self.challenge is not None:
            return self.challenge
        return ChallengeState.APPROVED if self.ok else ChallengeState.FAILED


@dataclass(frozen=True, slots=True)
class EnrollmentStep:
    """A new pending credential: its secret (sealed by the core), its non-secret params, and
    anything to send after the commit (an SMS code)."""

    secret: bytes | None = field(repr=False)
    params: Mapping[str, Any]
    deliveries: tuple[Delivery, ...] = ()
    budgets: tuple[SendBudget, ...] = ()  # spent by the core with the pending credential


@dataclass(frozen=True, slots=True)
class OperatorIssue:
    """A credential an operator issues (``Capabilities.issued_by_operator``): ``shown`` is
    printed once to the operator and never kept; ``params`` are stored (keyed hashes only);
    it works until ``expires_at`` for ``uses`` sign-ins."""

    shown: str = field(repr=False)
    params: Mapping[str, Any]
    expires_at: datetime
    uses: int


@dataclass(frozen=True, slots=True)
class TokenFile:
    """An operator's import file of hardware tokens in ``fmt`` (one of a kind's
    ``import_formats``), with the password or pre-shared ``key`` that opens it, if any."""

    data: bytes = field(repr=False)
    fmt: str
    password: str | None = field(default=None, repr=False)
    key: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ImportedToken:
    """One hardware token read from an import file: its ``serial`` (unique in the inventory),
    its ``secret`` (sealed by the core), non-secret ``params`` and the replay ``counter`` it
    starts from."""

    serial: str
    secret: bytes = field(repr=False)
    params: Mapping[str, Any]
    counter: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A part of an import file that cannot be imported: ``where`` (``row 3``, ``key 1234``)
    and a stable ``reason``."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedTokens:
    tokens: tuple[ImportedToken, ...] = ()
    rejected: tuple[Rejected, ...] = ()


class Method(Protocol):
    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    # The method's own settings (``[methods.<kind>]`` in the TOML file,
    # ``PORTVAKT_METHODS__<KIND>__<NAME>`` in the environment); None when it has none.
    settings_model: ClassVar[type[BaseModel] | None]

    def configure(self, settings: BaseModel | None) -> None:
        """Receive the validated settings once, at start-up."""
        ...

    def begin_enrollment(
        self, ctx: Context, user: UserRef, answers: Mapping[str, str] = NO_ANSWERS
    ) -> EnrollmentStep:
        """Step one of adding a credential: a secret, options or a sent code. ``answers`` are
        the fields of the kind's ``start.html`` named in ``Capabilities.enroll_fields`` (a
        phone number); raise ``errors.Invalid`` with a stable code when they will not do."""
        ...

    def enrollment_display(
        self,
        ctx: Context,
        user: UserRef,
        cred: CredentialView,
        *,
        challenge: ChallengeView | None = None,
        app_key: str = "",
    ) -> Mapping[str, Any]:
        """What the person must see to finish enrolling a pending credential (a QR code's
        ``uri`` and ``secret_text``, WebAuthn creation options, an app's test number), for
        the method's own ``enroll.html``. ``challenge``: the newest challenge bound to the
        credential; ``app_key``: the fingerprint of the server's app-protocol key
        (docs/protocol.md), for kinds activated by the Portvakt Authenticator. A ``state`` of
        ``active`` or ``expired`` ends an out-of-band enrolment page."""
        ...

    def prompt(self, ctx: Context, challenge: ChallengeView) -> Mapping[str, Any]:
        """What the door shows while ``challenge`` waits (a number to match)."""
        ...

    def finish_enrollment(
        self, ctx: Context, cred: CredentialView, resp: FactorResponse
    ) -> Verdict:
        """Step two: the first code, or the attestation. ``ok`` activates the credential."""
        ...

    def challenge(self, ctx: Context, request: ChallengeRequest) -> Issued:
        """Issue a challenge (only for ``capabilities.challenge``). Raise ``errors.Throttled``
        to refuse one (fatigue, resend limits) and ``errors.Invalid`` when it cannot be sent."""
        ...

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        """Check one response against exactly one credential (and its challenge, for kinds
        that issue one). Never apply anything."""
        ...

    def normalise_response(self, raw: str) -> str | None:
        """Clean what the person typed (spaces, dashes); None if it can never be valid."""
        ...

    def answering_credential(
        self,
        challenge: ChallengeView,
        resp: FactorResponse,
        credentials: Sequence[CredentialView],
    ) -> CredentialView | None:
        """Which of the person's active ``credentials`` of this kind an answer given in the
        browser comes from (a WebAuthn assertion names its credential); None if none."""
        ...

    def first_step_options(self, ctx: Context, challenge: bytes) -> Mapping[str, Any]:
        """Only for ``capabilities.first_step``: what the sign-in page needs to ask for an
        answer from anyone (``options``; ``autocomplete``: the username field's token)."""
        ...

    def identify(self, ctx: Context, resp: FactorResponse) -> int | None:
        """Only for ``capabilities.first_step``: the person's id an answer names (a passkey's
        user handle), checked; None when it names nobody."""

    def issue(
        self, ctx: Context, user: UserRef, *, hours: int | None, uses: int | None
    ) -> OperatorIssue:
        """Only for ``capabilities.issued_by_operator``: a new credential for ``hours`` and
        ``uses`` (None: the kind's defaults). Raise ``errors.Invalid`` for bounds it refuses."""
        ...

    def usable(self, ctx: Context, cred: CredentialView) -> bool:
        """False when an active credential can no longer sign in (a pass past its end or out
        of uses). A person whose credentials are all unusable signs in as one without any."""
        ...

    # Hardware tokens kept in the operator's inventory (docs/extend.md, "Hardware tokens"):
    # the file formats the kind imports; empty for kinds people enrol themselves.
    import_formats: ClassVar[tuple[str, ...]]

    def parse_tokens(self, source: TokenFile) -> ParsedTokens:
        """Read an import file: every token, or every part that cannot be imported."""
        ...

    def claim_serial(self, code: str) -> str | None:
        """The serial a code names by itself (a YubiKey OTP's public id), else None."""
        ...

    def verify_claim(self, ctx: Context, cred: CredentialView, codes: Sequence[str]) -> Verdict:
        """Proof that someone holds the token ``cred`` (two consecutive codes, one touch),
        also used to resynchronise it; the verdict's counter and params are applied."""
        ...


class MethodDefaults:
    """Defaults a method may inherit: no settings, no challenge, and enrolment finished by
    the first verified response."""

    settings_model: ClassVar[type[BaseModel] | None] = None
    settings: BaseModel | None = None
    import_formats: ClassVar[tuple[str, ...]] = ()

    def configure(self, settings: BaseModel | None) -> None:
        self.settings = settings

    def challenge(self, ctx: Context, request: ChallengeRequest) -> Issued:
        raise NotImplementedError("this kind issues no challenge")

    def issue(
        self, ctx: Context, user: UserRef, *, hours: int | None, uses: int | None
    ) -> OperatorIssue:
        raise NotImplementedError("an operator does not issue this kind")

    def usable(self, ctx: Context, cred: CredentialView) -> bool:
        return True

    def first_step_options(self, ctx: Context, challenge: bytes) -> Mapping[str, Any]:
        raise NotImplementedError("this kind is no first step")

    def identify(self, ctx: Context, resp: FactorResponse) -> int | None:
        return None

    def prompt(self, ctx: Context, challenge: ChallengeView) -> Mapping[str, Any]:
        return {}

    def finish_enrollment(
        self, ctx: Context, cred: CredentialView, resp: FactorResponse
    ) -> Verdict:
        return self.verify(ctx, cred, None, resp)

    def answering_credential(
        self,
        challenge: ChallengeView,
        resp: FactorResponse,
        credentials: Sequence[CredentialView],
    ) -> CredentialView | None:
        """The credential the challenge was bound to, else the person's only one."""
        if challenge.credential_id is not None:
            return next((c for c in credentials if c.id == challenge.credential_id), None)
        return credentials[0] if len(credentials) == 1 else None

    def verify(
        self,
        ctx: Context,
        cred: CredentialView,
        challenge: ChallengeView | None,
        resp: FactorResponse,
    ) -> Verdict:
        raise NotImplementedError

    def parse_tokens(self, source: TokenFile) -> ParsedTokens:
        return ParsedTokens(rejected=(Rejected("file", "unknown_format"),))

    def claim_serial(self, code: str) -> str | None:
        return None

    def verify_claim(self, ctx: Context, cred: CredentialView, codes: Sequence[str]) -> Verdict:
        return Verdict(ok=False, reason="not_claimable")
