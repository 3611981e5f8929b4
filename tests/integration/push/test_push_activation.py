"""First activation offers every kind policy allows (push too), each step one transaction;
a sign-in cancelled or expired between the page and the submit is refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import signin
from portvakt.domain import Door, UserRef
from portvakt.errors import NotFound
from portvakt.store.models import Credential, WebSession
from tests.conftest import FakeClock
from tests.integration.push.simapp import SimApp, activation_uri, number_on
from tests.integration.web import flows


def test_the_activation_page_offers_every_enrollable_kind(
    client: TestClient, alice: UserRef
) -> None:
    page = flows.post_password(client)
    assert page.url.path == "/signin/activate"
    offered = {kind for kind in ("totp", "push") if f'name="kind" value="{kind}"' in page.text}
    assert offered == {"totp", "push"}
    assert "Portvakt Authenticator" in page.text and "Authenticator app" in page.text


@pytest.mark.parametrize(
    "settings_overrides", [{"public_url": "http://localhost", "allowed_methods": "totp"}]
)
def test_a_kind_policy_does_not_allow_is_neither_offered_nor_accepted(
    client: TestClient, alice: UserRef
) -> None:
    page = flows.post_password(client)
    assert 'value="push"' not in page.text and 'value="totp"' in page.text
    refused = client.post(
        "/signin/activate/begin", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    assert refused.status_code == 400


def test_push_at_first_activation_signs_in_with_two_factors(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    flows.post_password(client)
    page = client.post(
        "/signin/activate/begin", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    assert page.status_code == 200 and page.url.path == "/signin/activate/confirm", page.text
    assert 'data-events="/signin/activate/events"' in page.text
    early = client.post("/signin/activate/confirm", data={"csrf_token": flows.token(client)})
    assert early.status_code == 202  # the app has not activated it yet
    app = SimApp(client, clock)
    assert app.register(activation_uri(page.text)).status_code == 201
    number = number_on(client.get("/signin/activate/confirm").text)
    (test,) = app.challenges()
    assert app.approve(test, number).json() == {"state": "approved"}
    with client.stream("GET", "/signin/activate/events") as events:
        stream = events.iter_lines()
        lines = [next(stream), next(stream)]
    assert lines[0] == "event: state" and '"active"' in lines[1]
    done = client.post("/signin/activate/confirm", data={"csrf_token": flows.token(client)})
    assert done.status_code == 200 and done.url.path == "/account", done.text
    with runtime.core.store.read() as s:
        credential = s.query(Credential).filter_by(user_id=alice.id).one()
        assert (credential.kind, credential.state, credential.is_default) == (
            "push",
            "active",
            True,
        )
        session = s.query(WebSession).filter_by(user_id=alice.id).one()
        assert session.factor_at is not None and session.method == "push"


def test_a_code_for_an_app_activation_is_not_asked(client: TestClient, alice: UserRef) -> None:
    flows.post_password(client)
    client.post("/signin/activate/begin", data={"kind": "push", "csrf_token": flows.token(client)})
    answer = client.post(
        "/signin/activate/confirm", data={"code": "123456", "csrf_token": flows.token(client)}
    )
    assert answer.status_code == 202  # still waiting for the app; the code means nothing here


def test_a_sign_in_cancelled_or_expired_after_it_was_read_is_refused(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    token = flows.cookie(client, "pv_signin")
    ctx = runtime.context(Door.WEB)
    pending = signin.load(runtime.core, ctx, token)
    signin.cancel(runtime.core, token)  # another tab cancels meanwhile
    with pytest.raises(NotFound):
        signin.submit_code(
            runtime.core,
            ctx,
            pending,
            kind="totp",
            code=flows.code_at(secret, clock),
            remember=False,
        )
    flows.post_password(client)
    token = flows.cookie(client, "pv_signin")
    pending = signin.load(runtime.core, ctx, token)
    clock.advance(seconds=runtime.settings.signin_ttl_seconds + 1)
    with pytest.raises(NotFound):
        signin.submit_code(
            runtime.core,
            runtime.context(Door.WEB),
            pending,
            kind="totp",
            code=flows.code_at(secret, clock),
            remember=False,
        )
    with runtime.core.store.read() as s:
        assert s.query(WebSession).filter_by(user_id=alice.id).count() == 0
