"""Settings and policy for push: required user verification, pick-one-of-three, digits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.push.simapp import add_push_device, number_on
from tests.integration.push.test_push_flow import _signed_in_with_totp, _start_push
from tests.integration.web import flows


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "public_url": "http://localhost",
        "push_require_uv": True,
        "push_match_mode": "pick",
        "push_number_digits": 6,
    }


def test_uv_required_refuses_plain_approval_and_accepts_unlocked(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    app = add_push_device(client, clock, uv=True)
    flows.sign_out(client)
    page = _start_push(client)
    number = number_on(page.text)
    assert len(number) == 6
    (challenge,) = app.challenges()
    assert challenge["match"]["mode"] == "pick" and number in challenge["match"]["choices"]
    assert len(set(challenge["match"]["choices"])) == 3
    plain = app.approve(challenge, number, uv=False)
    assert plain.status_code == 403 and plain.json()["error"] == "uv_required"
    clock.advance(seconds=1)
    second = _start_push(client)
    (again,) = app.challenges()
    assert app.approve(again, number_on(second.text), uv=True).json() == {"state": "approved"}
