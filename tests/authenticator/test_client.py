"""The HTTP client against the fake server of tests/authenticator/fakeserver.py (a unit-level
stand-in; the end-to-end tests run the real server)."""

from __future__ import annotations

import httpx
import pytest

from portvakt import protocol
from portvakt.protocol import DenyReason
from portvakt_authenticator.accounts import PushAccount
from portvakt_authenticator.client import Answer, ClientError, PushClient
from tests.authenticator.fakeserver import URL, FakeServer, Issued


def test_register_pins_the_server_key_and_keeps_the_private_key(
    server: FakeServer, client: PushClient
) -> None:
    account = client.register(server.activation(), device_name="Test laptop")
    assert account.server == URL and account.device_id == "dev-1"
    assert (account.account, account.issuer) == ("alice", "Portvakt")
    assert protocol.fingerprint(account.server_public()) == protocol.fingerprint(server.key)
    assert "d" in account.device_key
    assert protocol.public_jwk(account.key()) == server.registrations[0]["jwk"]
    assert server.registrations[0]["device"]["name"] == "Test laptop"
    assert account.capabilities == ("number_type", "events")


def test_register_refuses_a_server_key_that_does_not_match_the_qr(
    server: FakeServer, client: PushClient
) -> None:
    server.present_key = protocol.generate_key()  # a man in the middle
    with pytest.raises(ClientError) as caught:
        client.register(server.activation(), device_name="Test laptop")
    assert caught.value.code == "fingerprint_mismatch"


def test_register_reports_the_servers_error_code(server: FakeServer, client: PushClient) -> None:
    with pytest.raises(ClientError) as caught:
        client.register(server.activation(code="used-or-unknown"), device_name="x")
    assert (caught.value.code, caught.value.status) == ("activation_invalid", 410)
    assert caught.value.message == "refused: activation_invalid"


def test_pending_returns_verified_requests_and_drops_forged_ones(
    server: FakeServer, client: PushClient, registered: PushAccount
) -> None:
    issued = server.issue(registered.device_id, number="42")
    forged = Issued(tx="forged", device_id=registered.device_id, number="00", nonce="n")
    server.extra_challenges.append(server.challenge_token(forged, key=protocol.generate_key()))
    found = client.pending([registered])
    assert [r.tx for r in found.requests] == [issued.tx]
    assert found.requests[0].view.context["city"] == "Bergen"
    assert [d.code for d in found.dropped] == ["bad_signature"]
    assert found.failures == ()
    auth = server.requests[-1].headers["Authorization"]
    assert auth.startswith("PortvaktDevice ")


def test_pending_reuses_the_auth_token_within_its_lifetime(
    server: FakeServer, client: PushClient, registered: PushAccount
) -> None:
    client.pending([registered])
    client.pending([registered])
    nonce_calls = [r for r in server.requests if r.url.path.endswith("/nonce")]
    assert len(nonce_calls) == 1


def test_pending_reports_an_account_the_server_does_not_know(
    server: FakeServer, client: PushClient, registered: PushAccount
) -> None:
    server.devices.clear()  # the device was deleted on Security info
    found = client.pending([registered])
    assert found.requests == ()
    assert [(f.account_id, f.code) for f in found.failures] == [(registered.id, "unauthorized")]


def test_approve_sends_the_number_and_gets_approved(
    server: FakeServer, client: PushClient, registered: PushAccount
) -> None:
    server.issue(registered.device_id, number="42")
    request = client.pending([registered]).requests[0]
    state = client.answer(registered, request.view, Answer.approve("42"))
    assert state == "approved"
    answer = server.answers[-1]
    assert (answer["consent"], answer["number"], answer["uv"]) == ("approve", "42", False)


def test_wrong_number_is_refused_by_the_server(
    server: FakeServer, client: PushClient, registered: PushAccount
) -> None:
    server.issue(registered.device_id, number="42")
    request = client.pending([registered]).requests[0]
    with pytest.raises(ClientError) as caught:
        client.answer(registered, request.view, Answer.approve("24"))
    assert (caught.value.code, caught.value.status) == ("wrong_number", 403)


def test_deny_not_me(server: FakeServer, client: PushClient, registered: PushAccount) -> None:
    issued = server.issue(registered.device_id)
    request = client.pending([registered]).requests[0]
    assert client.answer(registered, request.view, Answer.deny(DenyReason.NOT_ME)) == "denied"
    assert server.answers[-1]["reason"] == "not_me"
    assert issued.state == "denied"
    with pytest.raises(ClientError) as again:
        client.answer(registered, request.view, Answer.deny())
    assert again.value.code == "not_pending"


def test_errors_without_the_json_shape_get_a_generic_code(registered: PushAccount) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/nonce"):
            return httpx.Response(200, json={"nonce": "n"})
        return httpx.Response(502, text="Bad Gateway")

    with PushClient(transport=httpx.MockTransport(handler)) as client:
        found = client.pending([registered])
    assert [(f.code, f.message) for f in found.failures] == [("server_error", "HTTP 502")]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", b'{"nonce": 5}'],
)
def test_answers_the_app_cannot_read_are_bad_responses(
    registered: PushAccount, body: bytes
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with PushClient(transport=transport) as client, pytest.raises(ClientError) as caught:
        client.challenges(registered)
    assert caught.value.code == "bad_response"


def test_unreachable_server(registered: PushAccount) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with PushClient(transport=httpx.MockTransport(handler)) as client:
        found = client.pending([registered])
    assert [f.code for f in found.failures] == ["unreachable"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"protocol": 2}, "unsupported_version"),
        ({"protocol": [1]}, "unsupported_version"),
        ({"device_id": ""}, "bad_response"),
        ({"server_key": "not a key"}, "bad_response"),
    ],
)
def test_register_answers_that_cannot_be_used_are_refused(
    server: FakeServer, change: dict[str, object], code: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = server.handle(request)
        return httpx.Response(201, json=response.json() | change)

    transport = httpx.MockTransport(handler)
    with PushClient(transport=transport) as client, pytest.raises(ClientError) as caught:
        client.register(server.activation(), device_name="x")
    assert caught.value.code == code
