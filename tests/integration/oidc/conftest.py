"""OpenID Connect tests: alice with TOTP, and a registered confidential app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core.oidc import clients
from portvakt.domain import Door, UserRef
from tests.conftest import FakeClock
from tests.integration.oidc.oauth import ISSUER, App
from tests.integration.web import flows


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_url": ISSUER}


def register(runtime: Runtime, name: str = "Staff portal", **options: Any) -> App:
    new = clients.NewClient(
        name=name,
        redirect_uris=options.pop("redirect_uris", ("https://portal.example.org/callback",)),
        post_logout_uris=options.pop("post_logout_uris", ("https://portal.example.org/",)),
        **options,
    )
    ctx = runtime.context(Door.CLI, actor="test")
    view, secret = clients.add(runtime.core, ctx, new)
    return App(client_id=view.client_id, secret=secret, redirect_uri=view.redirect_uris[0])


@pytest.fixture
def app(runtime: Runtime) -> App:
    return register(runtime)


@pytest.fixture
def secret(client: TestClient, alice: UserRef, clock: FakeClock) -> str:
    """alice has activated TOTP through the pages and signed out; her seed (base32)."""
    return flows.enrolled_user(client, clock)
