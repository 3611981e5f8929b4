"""A wrong code counts once, whatever the number of credentials and kinds it was tried
against: a person with an authenticator app and a second typed-code kind (the suite's
entry-point method, tests/plugins) sends one wrong code through the validate API and through
the sign-in page, and the lock state and the budget move by one each time."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import enrollment
from portvakt.domain import Door, UserRef
from portvakt.store.models import Credential, RateCounter, User
from tests.conftest import FakeClock
from tests.integration.validate.conftest import bearer, new_key, wrong_code
from tests.integration.web import flows

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.fixture(autouse=True)
def plugin_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the runtime is built, so that its registry finds the entry point."""
    monkeypatch.syspath_prepend(str(PLUGINS))


def _second_app(runtime: Runtime, alice: UserRef, clock: FakeClock) -> None:
    from portvakt_testmethod.method import code_at

    assert "lettercode" in runtime.core.registry
    ctx = runtime.context(Door.CLI, actor="test")
    pending = enrollment.begin(runtime.core, ctx, user_id=alice.id, kind="lettercode")
    shown = enrollment.pending_display(runtime.core, ctx, user_id=alice.id, credential_id=pending)
    seed = bytes.fromhex(str(shown.display["secret_text"]))
    code = code_at(seed, int(clock.now().timestamp()) // 30)
    enrollment.confirm(runtime.core, ctx, user_id=alice.id, credential_id=pending, code=code)


def _failures(runtime: Runtime, alice: UserRef) -> tuple[int, int]:
    with runtime.core.store.read() as s:
        user = s.get(User, alice.id)
        assert user is not None
        assert s.query(Credential).filter_by(user_id=alice.id, state="active").count() == 2
        spent = sum(r.count for r in s.query(RateCounter).filter(RateCounter.key.like("code-%")))
        return user.factor_failures, spent


def test_one_wrong_code_counts_once_through_the_validate_api(
    client: TestClient, runtime: Runtime, alice: UserRef, clock: FakeClock
) -> None:
    secret = flows.enrolled_user(client, clock)
    _second_app(runtime, alice, clock)
    key = new_key(runtime, "vpn")
    body = {"username": "alice", "code": wrong_code(secret, clock)}
    answer = client.post("/api/v1/validate", json=body, headers=bearer(key))
    assert answer.json() == {"status": "reject"}
    assert _failures(runtime, alice) == (1, 1)  # the integration's budget, once


def test_one_wrong_code_counts_once_at_sign_in(
    client: TestClient, runtime: Runtime, alice: UserRef, clock: FakeClock
) -> None:
    secret = flows.enrolled_user(client, clock)
    _second_app(runtime, alice, clock)
    flows.post_password(client)
    answer = client.post(
        "/signin/factor",
        data={"code": wrong_code(secret, clock), "csrf_token": flows.token(client)},
    )
    assert answer.status_code == 401
    assert _failures(runtime, alice) == (1, 1)  # the address budget, once
