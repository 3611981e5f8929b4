"""Frozen dataclasses shared by every layer (the store returns these, never ORM rows)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class CredentialState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"


class SignInStage(enum.StrEnum):
    PASSWORD = "password"  # nothing proven yet
    FACTOR = "factor"  # password accepted, a second factor is due
    ACTIVATION = "activation"  # password accepted, the person must add a method first
    DONE = "done"


class Door(enum.StrEnum):
    WEB = "web"
    API = "api"
    CLI = "cli"
    OIDC = "oidc"
    RADIUS = "radius"


@dataclass(frozen=True, slots=True)
class UserRef:
    id: int
    username: str
    display_name: str
    email: str | None = None
    phone: str | None = None
    disabled: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CredentialView:
    """One enrolled credential; ``secret`` is the decrypted secret, present only when asked for."""

    id: int
    user_id: int
    kind: str
    label: str
    state: CredentialState
    is_default: bool
    params: dict[str, Any]
    created_at: datetime
    last_used_at: datetime | None
    counter: int | None = None
    secret: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class FactorLock:
    """A person's second-factor lockout state (RL-01..RL-03), the same for every door."""

    failures: int = 0  # consecutive failures since the last success
    lockouts: int = 0  # locks in a row, for the doubling lock time
    locked_until: datetime | None = None
    blocked: bool = False  # until an administrator unlocks


@dataclass(frozen=True, slots=True)
class SignInState:
    id: str
    user_id: int | None
    stage: SignInStage
    created_at: datetime
    expires_at: datetime
    remembered: bool = False
    method: str | None = None
    pending_credential_id: int | None = None  # the credential being added at activation


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    event: str
    outcome: str
    ip: str | None
    user_agent: str | None
    method: str | None
    details: dict[str, Any]
    door: str | None = None
    actor: str | None = None


class Purpose(enum.StrEnum):
    """What a challenge is for; the values are the protocol's ``purpose`` claim."""

    SIGNIN = "signin"
    STEP_UP = "stepup"
    API = "api"
    ENROLLMENT = "activation"


class ChallengeState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # answered rightly, not yet used to finish anything
    DENIED = "denied"  # the person said no
    FAILED = "failed"  # a wrong answer ended it
    EXPIRED = "expired"  # only ever reported: a pending row past its time
    SUPERSEDED = "superseded"  # a newer challenge of the same kind replaced it
    USED = "used"  # an approved challenge that finished a sign-in, step-up or API call


TERMINAL = frozenset(ChallengeState) - {ChallengeState.PENDING, ChallengeState.APPROVED}


@dataclass(frozen=True, slots=True)
class ChallengeView:
    """A stored challenge as a method sees it. ``data`` is what ``challenge`` kept server-side."""

    id: str
    kind: str
    user_id: int
    purpose: Purpose
    state: ChallengeState
    credential_id: int | None  # bound to one credential (an activation), or any of the kind
    data: Mapping[str, Any]
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None = None
    answered_by: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A remembered browser, as the Security info page lists it."""

    id: int
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class UserAccount:
    """A person with what operators see of their account: second-factor lock, password."""

    user: UserRef
    lock: FactorLock
    has_password: bool


@dataclass(frozen=True, slots=True)
class IntegrationView:
    id: int
    name: str
    created_at: datetime
    trust_client_ip: bool = False  # as read; the validate API reads it again per request
