"""Integrations: systems that call the validate API with an API key of their own.

A key is 256 random bits behind the prefix ``pvk_``, shown once when it is created and stored
only as a keyed hash (purpose ``api-key``), by which a request's key is looked up: no plaintext
key is kept, and the lookup is an index probe on a value an attacker cannot compute.

The validate API may remember a key it found for a short while (``KeyCache``) so that a code
check needs no read of its own before the body is read; such a request is confirmed inside the
check's own transaction (``trust_of``), so a deleted integration's key stops working at once.

An integration may be trusted for the ``client_ip`` it sends (``trust_client_ip``, off by
default): the end user's address, which the validate API then counts and records. The flag is
read in each request's own transaction, never taken from the cache, so a change takes effect at
once."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

from sqlalchemy.orm import Session

from portvakt.context import Context
from portvakt.core.audit import Event, record
from portvakt.core.base import Core
from portvakt.crypto import random
from portvakt.domain import IntegrationView as IntegrationView  # re-exported
from portvakt.errors import Conflict, Invalid, NotFound
from portvakt.ports import SecretBox
from portvakt.store.errors import Duplicate
from portvakt.store.repos import integrations as stored

KEY_PREFIX = "pvk_"
KEY_BYTES = 32
MAX_KEY = 128  # longer bearer values are refused before hashing
MAX_NAME = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def key_hash(box: SecretBox, key: str) -> str:
    return box.keyed_hash(key.encode(), purpose="api-key")


def check_name(name: str) -> str:
    if _NAME.fullmatch(name) is None:
        raise Invalid("invalid_integration_name")
    return name


def add(
    core: Core, ctx: Context, name: str, *, trust_client_ip: bool = False
) -> tuple[IntegrationView, str]:
    """Create an integration; returns it with its API key (the only time the key is known)."""
    check_name(name)
    key = KEY_PREFIX + random.token(KEY_BYTES)
    try:
        with core.store.write() as s:
            if stored.name_taken(s, name):
                raise Conflict("integration_exists")
            view = stored.add(
                s,
                name=name,
                key_hash=key_hash(ctx.box, key),
                created_at=ctx.now(),
                trust_client_ip=trust_client_ip,
            )
            details = {"integration": name, "id": view.id, "trust_client_ip": trust_client_ip}
            record(s, ctx, Event.INTEGRATION_ADDED, details=details)
    except Duplicate as exc:  # a concurrent add with the same name
        raise Conflict("integration_exists") from exc
    return view, key


def listing(core: Core) -> list[IntegrationView]:
    with core.store.read() as s:
        return stored.listing(s)


def find(core: Core, name: str) -> IntegrationView:
    with core.store.read() as s:
        found = stored.by_name(s, name)
        if found is None:
            raise NotFound("integration_not_found")
        return found


def set_trust(core: Core, ctx: Context, name: str, *, trust_client_ip: bool) -> IntegrationView:
    """Trust (or stop trusting) the client_ip the integration sends; audited when it changes.
    Takes effect at the integration's next request."""
    with core.store.write() as s:
        found = stored.by_name(s, name)
        if found is None:
            raise NotFound("integration_not_found")
        if found.trust_client_ip != trust_client_ip:
            stored.set_trust(s, found.id, trust_client_ip=trust_client_ip)
            found = replace(found, trust_client_ip=trust_client_ip)
            details = {"integration": name, "id": found.id, "trust_client_ip": trust_client_ip}
            record(s, ctx, Event.INTEGRATION_CHANGED, details=details)
        return found


def delete(core: Core, ctx: Context, name: str) -> None:
    """Remove an integration; its key stops working at once."""
    with core.store.write() as s:
        found = stored.by_name(s, name)
        if found is None:
            raise NotFound("integration_not_found")
        record(s, ctx, Event.INTEGRATION_DELETED, details={"integration": name, "id": found.id})
        stored.remove(s, found.id)


def key_digest(box: SecretBox, authorization: str | None) -> str | None:
    """The stored form of the key in ``Authorization: Bearer KEY``; None if there is none or
    it cannot be one of ours (checked before any hashing)."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY:
        return None
    return key_hash(box, key)


def by_digest(core: Core, digest: str) -> IntegrationView | None:
    with core.store.read() as s:
        return stored.by_key_hash(s, digest)


def authenticate(core: Core, ctx: Context, authorization: str | None) -> IntegrationView | None:
    """The integration whose key is in ``Authorization: Bearer KEY``, or None."""
    digest = key_digest(ctx.box, authorization)
    return None if digest is None else by_digest(core, digest)


def trust_of(s: Session, integration: IntegrationView, digest: str) -> bool | None:
    """In the caller's transaction: None when the integration no longer exists with this key,
    else whether it trusts the client_ip it sends."""
    return stored.trust_of(s, integration.id, digest)


def trusts_client_ip(s: Session, integration: IntegrationView) -> bool:
    """In the caller's transaction: whether the integration trusts the client_ip it sends."""
    return stored.trusts_client_ip(s, integration.id)


class KeyCache:
    """Integrations found by key digest in the last ``ttl`` seconds (at most ``size``). Only
    found keys are kept, so unknown keys cannot fill it; and a hit is never the last word (see
    the module's docstring)."""

    def __init__(self, ttl: float = 60.0, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._found: dict[str, tuple[float, IntegrationView]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> IntegrationView | None:
        hit = self._found.get(digest)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, digest: str, integration: IntegrationView) -> None:
        with self._lock:
            if len(self._found) >= self.size:
                self._found.clear()
            self._found[digest] = (time.monotonic() + self.ttl, integration)
