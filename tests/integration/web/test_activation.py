"""First sign-in without a method: activation, and the grace deadline."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent, Credential
from tests.conftest import FakeClock
from tests.integration.web import flows


def test_first_signin_goes_to_activation_and_cannot_skip_without_grace(
    client: TestClient, alice: UserRef
) -> None:
    page = flows.post_password(client)
    assert page.url.path == "/signin/activate"
    assert "Skip for now" not in page.text
    assert client.get("/account", follow_redirects=False).status_code == 303
    skip = client.post("/signin/activate/skip", data={"csrf_token": flows.token(client)})
    assert skip.status_code == 403


def test_activation_shows_qr_and_grouped_secret_and_activates(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    flows.post_password(client)
    page = client.post(
        "/signin/activate/begin", data={"kind": "totp", "csrf_token": flows.token(client)}
    )
    assert "<svg" in page.text and 'class="qr"' in page.text
    shown = page.text.split('id="secret">')[1].split("<")[0]
    assert len(shown.split(" ")) == 8 and all(len(g) == 4 for g in shown.split(" "))
    with runtime.core.store.read() as s:
        row = s.query(Credential).one()
        assert row.state == "pending"
        assert row.secret is not None and shown.replace(" ", "").encode() not in row.secret
    wrong = client.post(
        "/signin/activate/confirm", data={"code": "000000", "csrf_token": flows.token(client)}
    )
    assert wrong.status_code == 401
    secret = shown.replace(" ", "")
    done = client.post(
        "/signin/activate/confirm",
        data={"code": flows.code_at(secret, clock), "csrf_token": flows.token(client)},
    )
    assert done.url.path == "/account"
    with runtime.core.store.read() as s:
        row = s.query(Credential).one()
        assert row.state == "active" and row.is_default
        assert s.query(AuditEvent).filter_by(event="method.added").count() == 1
