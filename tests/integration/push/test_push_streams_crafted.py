"""The three waiting pages' event streams (sign-in, step-up, adding a device) answer an id
that is not the browser's own with a 404 before the stream starts, and a crafted id with a
400: before issue 9 (item 5) they answered 200 and then crashed with a traceback. The client
here raises whatever the app raises, so a crash fails the test."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import Credential
from tests.conftest import FakeClock
from tests.integration.push.simapp import add_push_device
from tests.integration.push.test_push_flow import _ready, _signed_in_with_totp, _start_push
from tests.integration.web import flows

UNKNOWN_TX = "A" * 22


def _strict(client: TestClient) -> TestClient:
    """The same browser (its cookies), with the app's exceptions raised in the test."""
    return TestClient(client.app, cookies=client.cookies)


def _no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_signin_stream_for_a_foreign_or_unknown_request_is_404(
    client: TestClient, alice: UserRef, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    _ready(client, clock)
    other = TestClient(client.app)
    foreign = _start_push(other).url.params["tx"]  # another browser's sign-in
    own = _start_push(client).url.params["tx"]
    browser = _strict(client)
    for tx in (UNKNOWN_TX, foreign):
        answer = browser.get(f"/signin/push/events?tx={tx}")
        assert answer.status_code == 404, (tx, answer.status_code)
    with browser.stream("GET", f"/signin/push/events?tx={own}") as stream:
        assert stream.status_code == 200  # its own request still streams
        assert next(stream.iter_lines()) == "event: state"
    other.close()
    _no_errors(caplog)


def test_step_up_stream_for_a_foreign_or_unknown_request_is_404(
    client: TestClient, alice: UserRef, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    _signed_in_with_totp(client, clock)
    add_push_device(client, clock)
    other = TestClient(client.app)
    foreign = _start_push(other).url.params["tx"]  # a sign-in's request, not this session's
    started = client.post("/account/verify/push", data={"csrf_token": flows.token(client)})
    own = started.url.params["tx"]
    browser = _strict(client)
    for tx in (UNKNOWN_TX, foreign):
        answer = browser.get(f"/account/verify/push/events?tx={tx}")
        assert answer.status_code == 404, (tx, answer.status_code)
    with browser.stream("GET", f"/account/verify/push/events?tx={own}") as stream:
        assert stream.status_code == 200
        assert next(stream.iter_lines()) == "event: state"
    other.close()
    _no_errors(caplog)


@pytest.mark.parametrize(
    "case",
    [("totp", 404), ("424242", 404), ("²", 400), ("1" * 40, 400), ("9" * 11, 400), ("-1", 400)],
    ids=repr,
)
def test_activation_stream_for_a_foreign_or_crafted_credential_is_refused(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    case: tuple[str, int],
) -> None:
    """``totp``: the person's own credential, but not a device being added."""
    credential, status = case
    _signed_in_with_totp(client, clock)
    if credential == "totp":
        with runtime.core.store.read() as s:
            credential = str(s.query(Credential).filter_by(kind="totp").one().id)
    answer = _strict(client).get(f"/account/methods/{credential}/push/events")
    assert answer.status_code == status
    _no_errors(caplog)
