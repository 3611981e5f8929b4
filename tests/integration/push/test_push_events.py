"""The waiting browser and the app's event stream move on by themselves (server-sent events
over the notifier; in-process on SQLite, LISTEN/NOTIFY on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from fastapi.testclient import TestClient

from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.push.simapp import SimApp, add_push_device, number_on
from tests.integration.push.test_push_flow import _signed_in_with_totp, _start_push
from tests.integration.web import flows


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    name = ""
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, line[6:]


def test_browser_stream_reports_approval_without_polling(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    app = add_push_device(client, clock)
    flows.sign_out(client)
    page = _start_push(client)
    tx = page.url.params["tx"]
    (challenge,) = app.challenges()
    approver = threading.Timer(0.3, lambda: app.approve(challenge, number_on(page.text)))
    seen: list[str] = []
    started = time.monotonic()
    with client.stream("GET", f"/signin/push/events?tx={tx}") as stream:
        approver.start()
        for _name, data in _events(stream.iter_lines()):
            seen.append(data)
            if "approved" in data:
                break
    elapsed = time.monotonic() - started
    approver.join()
    assert seen[0] == '{"state": "pending"}' and seen[-1] == '{"state": "approved"}'
    assert elapsed < 5  # woken by the announcement, not by the 15 s keep-alive
    done = client.post(f"/signin/push/complete?tx={tx}", data={"csrf_token": flows.token(client)})
    assert done.url.path == "/account"


def test_app_stream_delivers_pending_and_new_challenges(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    app = add_push_device(client, clock)
    flows.sign_out(client)
    first = _start_push(client)
    other = TestClient(client.app)
    got: list[tuple[str, str]] = []
    with client.stream("GET", "/api/app/v1/events", headers=app.auth_header()) as stream:
        lines = _events(stream.iter_lines())
        got.append(next(lines))  # the pending one, on connect
        trigger = threading.Timer(0.3, lambda: _start_push(other))
        trigger.start()
        got.append(next(lines))  # the older one is superseded...
        got.append(next(lines))  # ...and the new one arrives
        trigger.join()
    other.close()
    assert got[0][0] == "challenge"
    names = sorted(name for name, _ in got[1:])
    assert names == ["answered", "challenge"]
    assert first.url.params["tx"] in dict(got[1:]).get("answered", "")


def test_app_stream_requires_device_authentication(client: TestClient) -> None:
    answer = client.get("/api/app/v1/events", headers={"authorization": "PortvaktDevice x.y.z"})
    assert answer.status_code in {400, 401}
    assert answer.json()["error"] in {"unauthorized", "malformed"}
    assert client.get("/api/app/v1/challenges").status_code == 401


def test_activation_page_stream_moves_on_when_the_device_is_approved(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    page = client.post(
        "/account/methods/add", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    from tests.integration.push.simapp import activation_uri

    app = SimApp(client, clock)
    states: list[str] = []
    events_path = page.url.path + "/events"

    def register_and_approve() -> None:
        app.register(activation_uri(page.text))
        number = number_on(client.get(page.url.path).text)
        (test,) = app.challenges()
        app.approve(test, number)

    worker = threading.Timer(0.3, register_and_approve)
    with client.stream("GET", events_path) as stream:
        worker.start()
        for _name, data in _events(stream.iter_lines()):
            states.append(data)
            if '"active"' in data:
                break
    worker.join()
    assert '"waiting_for_app"' in states[0] and '"active"' in states[-1]


def test_stream_opened_during_activation_gets_signin_requests_afterwards(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    """The app connects as soon as it registered; its stream must not keep the 'not yet
    active' view of the device once the test approval made it active."""
    _signed_in_with_totp(client, clock)
    page = client.post(
        "/account/methods/add", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    from tests.integration.push.simapp import activation_uri

    app = SimApp(client, clock)
    app.register(activation_uri(page.text))
    number = number_on(client.get(page.url.path).text)
    other = TestClient(client.app)

    def approve_then_sign_in() -> None:
        (test,) = app.challenges()
        app.approve(test, number)
        _start_push(other)

    names: list[str] = []
    with client.stream("GET", "/api/app/v1/events", headers=app.auth_header()) as stream:
        lines = _events(stream.iter_lines())
        names.append(next(lines)[0])  # the activation test
        worker = threading.Timer(0.3, approve_then_sign_in)
        worker.start()
        for name, _data in lines:
            names.append(name)
            if name == "challenge":
                break
        worker.join()
    other.close()
    assert names[0] == "challenge" and names[-1] == "challenge" and "answered" in names
