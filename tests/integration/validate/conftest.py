"""Validate API tests: an integration with its key, and alice with TOTP (and a push device).
The public URL is a loopback address, as the push protocol's activation URI requires."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import enrollment, integrations, users
from portvakt.crypto import otp
from portvakt.domain import Door, UserRef
from tests.conftest import FakeClock
from tests.integration.web import flows


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_url": "http://localhost"}


def new_key(runtime: Runtime, name: str, *, trust_client_ip: bool = False) -> str:
    ctx = runtime.context(Door.CLI, actor="test")
    options = {"trust_client_ip": True} if trust_client_ip else {}
    _view, key = integrations.add(runtime.core, ctx, name, **options)
    return key


def person_with_totp(runtime: Runtime, clock: FakeClock, username: str) -> str:
    """``username`` with an active authenticator app, made through the core; their seed. The
    clock is not moved: the code used to confirm it is spent for this time step."""
    ctx = runtime.context(Door.CLI, actor="test")
    user = users.add(runtime.core, ctx, username=username, password=None, display_name=username)
    pending = enrollment.begin(runtime.core, ctx, user_id=user.id, kind="totp")
    shown = enrollment.pending_display(runtime.core, ctx, user_id=user.id, credential_id=pending)
    seed = str(shown.display["secret_text"]).replace(" ", "")
    now = otp.totp(otp.b32decode(seed), clock.now().timestamp())
    enrollment.confirm(runtime.core, ctx, user_id=user.id, credential_id=pending, code=now)
    return seed


@pytest.fixture
def key(runtime: Runtime) -> str:
    return new_key(runtime, "vpn")


@pytest.fixture
def secret(client: TestClient, alice: UserRef, clock: FakeClock) -> str:
    """alice has activated TOTP through the pages; her seed (base32)."""
    return flows.enrolled_user(client, clock)


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def wrong_code(secret: str, clock: FakeClock) -> str:
    """A six-digit code that matches no step near now."""
    near = {flows.code_at(secret, clock, offset) for offset in range(-120, 121, 30)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


def code(secret: str, clock: FakeClock) -> str:
    return otp.totp(otp.b32decode(secret), clock.now().timestamp())
