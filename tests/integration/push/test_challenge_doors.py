"""The doors generic over kinds refuse what they cannot serve with a clear page: a kind that
is unknown or issues no challenge, a person without a device, a request that is not theirs,
a completion before the approval."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.push.simapp import add_push_device, number_on
from tests.integration.push.test_push_flow import _signed_in_with_totp
from tests.integration.web import flows

TX = "AAAAAAAAAAAAAAAAAAAAAA"


@pytest.mark.parametrize("kind", ["totp", "voice", "lettercode"])
def test_a_kind_that_sends_nothing_has_no_sign_in_door(
    client: TestClient, alice: UserRef, clock: FakeClock, kind: str
) -> None:
    _signed_in_with_totp(client, clock)
    flows.sign_out(client)
    flows.post_password(client)
    token = flows.token(client)
    assert client.post(f"/signin/{kind}", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/signin/{kind}/wait?tx={TX}").status_code == 404
    assert (
        client.post(f"/signin/{kind}/complete?tx={TX}", data={"csrf_token": token}).status_code
        == 404
    )
    step_up = client.post(f"/account/verify/{kind}", data={"csrf_token": token})
    assert step_up.status_code < 500  # not signed in: the sign-in page, never an error


def test_push_without_a_device_is_refused_at_sign_in_and_step_up(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    token = flows.token(client)
    step_up = client.post("/account/verify/push", data={"csrf_token": token})
    assert step_up.status_code == 400
    flows.sign_out(client)
    flows.post_password(client)
    refused = client.post("/signin/push", data={"csrf_token": flows.token(client)})
    assert refused.status_code == 400 and 'id="error"' in refused.text


def test_a_step_up_is_finished_only_once_approved_and_only_by_its_session(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    app = add_push_device(client, clock)
    started = client.post(
        "/account/verify/push?next=/account/methods/add", data={"csrf_token": flows.token(client)}
    )
    assert started.url.path == "/account/verify/push/wait"
    tx = started.url.params["tx"]
    early = client.post(
        f"/account/verify/push/complete?tx={tx}&next=/account/methods/add",
        data={"csrf_token": flows.token(client)},
    )
    assert early.status_code == 202  # still waiting
    assert (
        client.get(f"/account/verify/push/wait?tx={TX}", follow_redirects=False).status_code == 303
    )
    assert (
        client.post(
            f"/account/verify/push/complete?tx={TX}",
            data={"csrf_token": flows.token(client)},
            follow_redirects=False,
        ).status_code
        == 303
    )
    (challenge,) = app.challenges()
    assert app.approve(challenge, number_on(started.text)).json() == {"state": "approved"}
    done = client.post(
        f"/account/verify/push/complete?tx={tx}&next=/account/methods/add",
        data={"csrf_token": flows.token(client)},
    )
    assert done.url.path == "/account/methods/add"
    again = client.post(
        f"/account/verify/push/complete?tx={tx}", data={"csrf_token": flows.token(client)}
    )
    assert again.status_code == 409  # used


def test_a_sign_in_request_that_is_not_this_browsers_ends_the_sign_in(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    add_push_device(client, clock)
    flows.sign_out(client)
    flows.post_password(client)
    assert client.get(f"/signin/push/wait?tx={TX}").status_code == 410
    completed = client.post(
        f"/signin/push/complete?tx={TX}", data={"csrf_token": flows.token(client)}
    )
    assert completed.status_code == 410
