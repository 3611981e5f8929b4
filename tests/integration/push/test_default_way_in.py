"""The default method drives the sign-in: after the password the second-factor page opens with
the person's default way in (a push is sent at once), names who is signing in, and lists the
other ways on request with the one used last first."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import Challenge, Credential
from tests.conftest import FakeClock
from tests.integration.push.simapp import add_push_device, number_on
from tests.integration.web import flows


def _signed_in(client: TestClient, clock: FakeClock) -> str:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    return secret


def _make_default(client: TestClient, runtime: Runtime, user_id: int, kind: str) -> None:
    with runtime.core.store.read() as s:
        (cid,) = [c.id for c in s.query(Credential).filter_by(user_id=user_id, kind=kind)]
    done = client.post(f"/account/methods/{cid}/default", data={"csrf_token": flows.token(client)})
    assert done.url.path == "/account"


def test_one_way_in_opens_its_form_and_names_the_person(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    flows.enrolled_user(client, clock)
    page = flows.post_password(client)
    assert page.url.path == "/signin/factor"
    assert '<span id="who">alice</span>' in page.text and "Not you?" in page.text
    assert "Enter the code from your authenticator app" in page.text
    assert 'id="other-ways"' not in page.text
    gone = client.post("/signin/cancel", data={"csrf_token": flows.token(client)})
    assert gone.url.path == "/signin"


def test_the_default_decides_and_the_others_are_a_click_away(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = _signed_in(client, clock)
    app = add_push_device(client, clock)
    flows.sign_out(client)

    page = flows.post_password(client)  # the app (added first) is the default: no push sent
    assert page.url.path == "/signin/factor"
    assert "Enter the code from your authenticator app" in page.text
    assert 'id="send-push"' not in page.text and 'id="other-ways"' in page.text
    other = client.get("/signin/factor?other=1")
    assert "Sign in another way" in other.text
    assert 'id="send-push"' in other.text and "authenticator app" in other.text
    assert "You used this last time." in other.text  # the push device's test approval
    assert other.text.index('id="send-push"') < other.text.index("authenticator app</label")
    clock.advance(seconds=30)
    code = flows.code_at(secret, clock)
    assert flows.submit_code(client, code).url.path == "/account"

    _make_default(client, runtime, alice.id, "push")
    flows.sign_out(client)
    waiting = flows.post_password(client)  # the push goes out at once
    assert waiting.url.path == "/signin/push/wait", waiting.text
    (challenge,) = app.challenges()
    assert app.approve(challenge, number_on(waiting.text)).json() == {"state": "approved"}
    tx = waiting.url.params["tx"]
    done = client.post(f"/signin/push/complete?tx={tx}", data={"csrf_token": flows.token(client)})
    assert done.url.path == "/account"
    with runtime.core.store.read() as s:
        assert s.query(Challenge).filter_by(user_id=alice.id, state="used").count() == 1

    flows.sign_out(client)
    waiting = flows.post_password(client)
    assert waiting.url.path == "/signin/push/wait"
    assert 'href="/signin/factor?other=1"' in waiting.text
    instead = client.get("/signin/factor?other=1")
    assert "authenticator app" in instead.text  # the app's code still works instead
    clock.advance(seconds=30)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"


def test_a_paused_push_falls_back_to_the_page(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _signed_in(client, clock)
    app = add_push_device(client, clock)
    _make_default(client, runtime, alice.id, "push")
    flows.sign_out(client)
    waiting = flows.post_password(client)
    (challenge,) = app.challenges()
    assert app.deny(challenge, "not_me").status_code == 200
    client.post("/signin/cancel", data={"csrf_token": flows.token(client)})
    page = flows.post_password(client)  # paused after "not me": nothing is sent
    assert page.url.path == "/signin/factor" and 'id="send-push"' in page.text
    assert app.challenges() == []
    del waiting
