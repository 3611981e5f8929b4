"""The grace period: before the deadline people may skip activation; after it they may not."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.web import flows


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"enrollment_deadline": date(2026, 12, 2)}


def test_grace_period_shows_days_left_and_allows_skip(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    page = flows.post_password(client)
    assert "10 days" in page.text
    skipped = client.post("/signin/activate/skip", data={"csrf_token": flows.token(client)})
    assert skipped.url.path == "/account"
    assert "no second sign-in method" in skipped.text


def test_after_the_deadline_activation_is_required(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    clock.advance(days=10)
    page = flows.post_password(client)
    assert page.url.path == "/signin/activate" and "Skip for now" not in page.text
    skip = client.post("/signin/activate/skip", data={"csrf_token": flows.token(client)})
    assert skip.status_code == 403
