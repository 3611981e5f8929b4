"""Expired sign-ins, sessions, devices and rate counters are pruned; live ones stay."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core.maintenance import prune
from portvakt.domain import Door, UserRef
from portvakt.store.models import SignIn, WebSession
from tests.conftest import FakeClock
from tests.integration.web import flows


def test_prune_removes_only_expired_rows(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    flows.post_password(client)  # a sign-in in progress (activation)
    ctx = runtime.context(Door.CLI)
    assert prune(runtime.core, ctx)["signins"] == 0
    clock.advance(minutes=11)
    counts = prune(runtime.core, ctx)
    assert counts["signins"] == 1
    with runtime.core.store.read() as s:
        assert s.query(SignIn).count() == 0


def test_prune_ends_idle_sessions(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    flows.submit_code(client, flows.code_at(secret, clock))
    ctx = runtime.context(Door.CLI)
    clock.advance(minutes=59)
    assert prune(runtime.core, ctx)["sessions"] == 0
    assert client.get("/account").url.path == "/account"
    clock.advance(minutes=61)
    assert prune(runtime.core, ctx)["sessions"] == 1
    with runtime.core.store.read() as s:
        assert s.query(WebSession).count() == 0
