"""One module per aggregate; importing this package registers every table on ``Base.metadata``."""

from portvakt.store.models.audit import AuditEvent
from portvakt.store.models.base import Base
from portvakt.store.models.challenge import Challenge
from portvakt.store.models.credential import Credential
from portvakt.store.models.integration import Integration
from portvakt.store.models.keys import SigningKey
from portvakt.store.models.oidc import OidcClient, OidcGrant, OidcRequest, OidcToken
from portvakt.store.models.ratelimit import NameLock, RateCounter
from portvakt.store.models.signin import RememberedDevice, SignIn, WebSession
from portvakt.store.models.token import HardwareToken
from portvakt.store.models.user import User

__all__ = [
    "AuditEvent",
    "Base",
    "Challenge",
    "Credential",
    "HardwareToken",
    "Integration",
    "NameLock",
    "OidcClient",
    "OidcGrant",
    "OidcRequest",
    "OidcToken",
    "RateCounter",
    "RememberedDevice",
    "SignIn",
    "SigningKey",
    "User",
    "WebSession",
]
