"""The push commands (add an activation URI, pending, approve, deny, listen's JSON lines)
through CliRunner, with the HTTP client pointed at the fake server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from portvakt import protocol
from portvakt_authenticator import cli, cli_push
from portvakt_authenticator.accounts import PushAccount
from portvakt_authenticator.client import PushClient, Request
from portvakt_authenticator.keystore import Keystore
from portvakt_authenticator.messages import open_challenge
from portvakt_authenticator.stream import (
    ChallengeArrived,
    ChallengeClosed,
    ConnectionChanged,
    ConnectionState,
    StreamEvent,
)
from tests.authenticator.fakeserver import FakeServer
from tests.authenticator.test_cli import Cli


@pytest.fixture
def run(home: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Cli:
    def make_client() -> PushClient:
        return PushClient(transport=server.transport())

    monkeypatch.setattr(cli, "PushClient", make_client)
    monkeypatch.setattr(cli_push, "PushClient", make_client)
    return Cli()


@pytest.fixture
def device(run: Cli, server: FakeServer) -> str:
    result = run.ok("add", server.activation().to_uri(), "--device-name", "Build box")
    assert "Registered with https://mfa.example.org as Portvakt: alice" in result.stdout
    assert "approve --number" in result.stdout
    return next(iter(server.devices))


def test_add_activation_registers_and_stores_the_push_account(
    run: Cli, server: FakeServer, device: str
) -> None:
    assert server.registrations[0]["device"]["name"] == "Build box"
    (account,) = run.json("list")["accounts"]
    assert (account["type"], account["server"], account["device_id"]) == (
        "push",
        server.url,
        device,
    )
    assert "device_key" not in account


def test_add_activation_refuses_a_key_that_does_not_match_the_qr(
    run: Cli, server: FakeServer
) -> None:
    server.present_key = protocol.generate_key()
    result = run("add", server.activation().to_uri())
    assert result.exit_code == 1
    assert "does not match the QR code" in result.stderr
    assert run.json("list") == {"accounts": []}


def test_add_activation_with_a_used_code(run: Cli, server: FakeServer) -> None:
    result = run("add", server.activation(code="old").to_uri())
    assert result.exit_code == 1
    assert "unknown, used or expired" in result.stderr


def test_pending_lists_requests_as_text_and_json(run: Cli, server: FakeServer, device: str) -> None:
    assert "No pending sign-in requests." in run.ok("pending").stdout
    issued = server.issue(device, context={"service": "Webmail", "ip": "192.0.2.7"})
    text = run.ok("pending").stdout
    assert issued.tx in text and "Service: Webmail" in text and "IP address: 192.0.2.7" in text
    data = run.json("pending")
    (request,) = data["requests"]
    assert request["id"] == issued.tx and request["match"] == {"mode": "type", "digits": 2}
    assert request["context"]["service"] == "Webmail" and 0 < request["seconds_left"] <= 60
    assert data["dropped"] == [] and data["failed"] == []


def test_approve_the_only_request_with_its_number(
    run: Cli, server: FakeServer, device: str
) -> None:
    issued = server.issue(device, number="42")
    result = run.ok("approve", "--number", "42")
    assert result.stdout.endswith("Answer sent: approved.\n")
    assert issued.state == "approved"
    assert server.answers[-1]["uv"] is False


def test_approve_after_opening_with_the_pin_claims_user_verification(
    run: Cli, server: FakeServer, device: str
) -> None:
    run.ok("pin", "set", "--pin-stdin", input="246813\n")
    issued = server.issue(device, number="07")
    # "--": a random id may begin with "-" (1 run in 64 read "-J…" as an option)
    run.ok("approve", "--pin-stdin", "--", issued.tx[:6], input="246813\n07\n")
    assert issued.state == "approved" and server.answers[-1]["uv"] is True


def test_approve_asks_which_when_several_are_pending(
    run: Cli, server: FakeServer, device: str
) -> None:
    first, second = server.issue(device), server.issue(device)
    result = run("approve", "--number", "42")
    assert result.exit_code == 2
    assert first.tx in result.stderr and second.tx in result.stderr
    assert "several sign-in requests are pending" in result.stderr
    assert server.answers == []
    run.ok("approve", "--number", "42", "--", second.tx)
    assert (first.state, second.state) == ("pending", "approved")


def test_approve_with_nothing_pending_or_an_unknown_id(
    run: Cli, server: FakeServer, device: str
) -> None:
    result = run("approve", "--number", "42")
    assert (result.exit_code, result.stderr) == (1, "Error: no pending sign-in request\n")
    server.issue(device)
    result = run("approve", "nope", "--number", "42")
    assert result.exit_code == 1 and "with that id" in result.stderr


def test_approve_refuses_a_malformed_number_before_sending(
    run: Cli, server: FakeServer, device: str
) -> None:
    issued = server.issue(device, number="42")
    result = run("approve", "--number", "4x")
    assert result.exit_code == 2 and "form of the one shown" in result.stderr
    assert server.answers == [] and issued.state == "pending"


def test_wrong_number_is_refused_by_the_server(run: Cli, server: FakeServer, device: str) -> None:
    issued = server.issue(device, number="42")
    result = run("approve", "--number", "24")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: wrong number: the sign-in was stopped (refused: wrong_number)\n",
    )
    assert issued.state == "failed"


def test_deny_not_me_and_cancelled(run: Cli, server: FakeServer, device: str) -> None:
    issued = server.issue(device)
    assert run.ok("deny", "--not-me").stdout.endswith("Answer sent: denied.\n")
    assert issued.state == "denied" and server.answers[-1]["reason"] == "not_me"
    server.issue(device)
    run.ok("deny")
    assert server.answers[-1]["reason"] == "cancelled"


def test_pending_without_push_accounts(run: Cli) -> None:
    result = run("pending")
    assert (result.exit_code, result.stderr) == (1, "Error: no push accounts\n")


def test_pending_reports_a_device_the_server_no_longer_knows(
    run: Cli, server: FakeServer, device: str
) -> None:
    server.devices.clear()
    result = run("pending", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["failed"][0]["code"] == "unauthorized"
    assert "does not know this device" in result.stderr


def test_listen_prints_one_json_object_per_line(
    run: Cli, server: FakeServer, device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = server.issue(device)
    (account,) = [a for a in Keystore().load().accounts if isinstance(a, PushAccount)]
    request: Request = open_challenge(account, server.challenge_token(issued))
    events: list[StreamEvent] = [
        ConnectionChanged(account.id, ConnectionState.CONNECTED),
        ChallengeArrived(request),
        ChallengeClosed(account.id, issued.tx, "approved"),
    ]

    async def fake_watch_all(accounts: object) -> AsyncIterator[StreamEvent]:
        for event in events:
            yield event

    monkeypatch.setattr(cli_push, "watch_all", fake_watch_all)
    lines = [json.loads(line) for line in run.ok("listen", "--json").stdout.splitlines()]
    assert [line["event"] for line in lines] == ["connection", "challenge", "answered"]
    assert lines[1]["id"] == issued.tx and lines[2]["state"] == "approved"
    text = run.ok("listen").stdout
    assert issued.tx in text and f"{issued.tx}: approved" in text
