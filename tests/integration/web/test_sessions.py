"""Session timeouts are enforced server-side (SES-04)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.web import flows


def _signed_in(client: TestClient, clock: FakeClock) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"


def test_idle_session_ends_after_an_hour(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in(client, clock)
    clock.advance(minutes=59)
    assert client.get("/account").url.path == "/account"
    clock.advance(minutes=61)
    assert client.get("/account").url.path == "/signin"


def test_active_session_still_ends_after_24_hours(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in(client, clock)
    for _ in range(24):
        clock.advance(minutes=59)
        assert client.get("/account").url.path == "/account"
    clock.advance(minutes=25)
    assert client.get("/account").url.path == "/signin"
