"""LOG-01 / OTP-09: passwords, seeds and codes never reach logs, audit rows or the database
in the clear."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent
from tests.conftest import PASSWORD, FakeClock
from tests.integration.web import flows


def test_secrets_never_appear_in_logs_audit_or_tables(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    flows.post_password(client)
    seed = flows.activate_totp(client, clock)
    flows.sign_out(client)
    clock.advance(seconds=30)
    flows.post_password(client)
    code = flows.code_at(seed, clock)
    flows.submit_code(client, code, remember=True)
    session_cookie = flows.cookie(client, "pv_session")
    device_cookie = flows.cookie(client, "pv_device")
    canaries = [PASSWORD, seed, seed.lower(), session_cookie, device_cookie]
    logged = caplog.text
    with runtime.core.store.read() as s:
        audit_text = " ".join(
            f"{e.event} {e.details} {e.user_agent} {e.actor}" for e in s.query(AuditEvent)
        )
        dump: list[str] = []
        for table in (
            "user_account",
            "credential",
            "web_session",
            "remembered_device",
            "audit_event",
            "signin",
        ):
            dump.extend(str(row) for row in s.execute(text(f"SELECT * FROM {table}")))
    everything = logged + audit_text + " ".join(dump)
    for canary in canaries:
        assert canary is not None and canary not in everything
    # six digits can occur by chance inside hashes, so the code is looked for in text only
    assert code not in logged + audit_text
