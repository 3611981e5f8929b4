"""An app sign-in never completes with a temporary access pass: the browser is sent to adding
a method (``prompt=none`` gets ``interaction_required``); once the person has added one and
signed in again with it, the waiting request is answered."""

from __future__ import annotations

import httpx2 as httpx
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import passes
from portvakt.domain import Door, UserRef
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.oauth import App
from tests.integration.web import flows

db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret

ADD = "/account/methods/add"


def _with_pass(client: TestClient, runtime: Runtime) -> httpx.Response:
    """The phone is lost: the helpdesk issues a pass, and the person uses it."""
    ctx = runtime.context(Door.CLI, actor="cli:helpdesk")
    value = passes.issue(runtime.core, ctx, username="alice", hours=1, uses=1).shown
    flows.post_password(client)
    data = {"code": value, "kind": "tap", "csrf_token": flows.token(client)}
    return oauth.follow(client, client.post("/signin/factor", data=data, follow_redirects=False))


def test_an_app_sign_in_waits_until_a_method_is_added_and_used(
    client: TestClient, app: App, alice: UserRef, clock: FakeClock, runtime: Runtime, secret: str
) -> None:
    assert oauth.authorize(client, app).request.url.path == "/signin"
    landed = _with_pass(client, runtime)
    assert landed.status_code == 200 and landed.request.url.path == ADD
    assert 'id="restricted"' in landed.text
    again = oauth.authorize(client, app)
    assert again.request.url.path == ADD  # never a code for the app
    quiet = client.get(
        "/oauth2/authorize", params=app.params(prompt="none"), follow_redirects=False
    )
    assert oauth.at_app(quiet, app)["error"] == "interaction_required"
    page = client.post(ADD, data={"kind": "totp", "csrf_token": flows.token(client)})
    seed = flows.secret_on_page(page.text)
    done = client.post(
        str(page.url.path),
        data={"code": flows.code_at(seed, clock), "csrf_token": flows.token(client)},
    )
    assert "Sign in again with it" in done.text and "Staff portal" in done.text
    clock.advance(seconds=30)
    flows.post_password(client)
    data = {"code": flows.code_at(seed, clock), "kind": "totp", "csrf_token": flows.token(client)}
    answer = oauth.follow(client, client.post("/signin/factor", data=data, follow_redirects=False))
    assert "code" in oauth.at_app(answer, app)
