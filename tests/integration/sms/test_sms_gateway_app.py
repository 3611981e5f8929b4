"""The app sending codes through the HTTP gateway to a real operator on loopback: a failing
first gateway fails over to the second; when every gateway fails the person is not counted a
failure, the audit says so and the waiting page tells the person."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.channels.sms import TextQueue
from portvakt.core import enrollment
from portvakt.domain import Door, UserRef
from portvakt.settings import SmsHttpSettings
from portvakt.store.models import AuditEvent, User
from tests.conftest import FakeClock
from tests.integration.channels.test_sms_gateways import Receiver, running_operator
from tests.integration.sms.conftest import PHONE
from tests.integration.web import flows


@pytest.fixture
def operator() -> Iterator[Receiver]:
    with running_operator() as receiver:
        yield receiver


@pytest.fixture
def second() -> Iterator[Receiver]:
    with running_operator() as receiver:
        yield receiver


@pytest.fixture
def settings_overrides(operator: Receiver, second: Receiver, sms_file: Path) -> dict[str, Any]:
    return {
        "sms_gateway": "http",
        "sms_fallback_gateway": "http",
        "sms_http": SmsHttpSettings(url=operator.url + "/send"),
        "sms_fallback_http": SmsHttpSettings(url=second.url + "/backup"),
        "sms_timeout_seconds": 1,
        "sms_retries": 1,
        "public_url": "http://localhost",
    }


def _queue(runtime: Runtime) -> TextQueue:
    queue = runtime.core.senders["sms"]
    assert isinstance(queue, TextQueue)
    queue.backoff = 0.01
    return queue


def _code(receiver: Receiver) -> str:
    text = json.loads(receiver.got[-1]["body"])["text"]
    found = re.search(r"#(\d{6})$", text)
    assert found is not None
    return found.group(1)


def test_a_failing_gateway_fails_over_to_the_second(
    alice: UserRef,
    runtime: Runtime,
    operator: Receiver,
    second: Receiver,
) -> None:
    queue = _queue(runtime)
    operator.statuses = [503, 503]
    ctx = runtime.context(Door.CLI, actor="test")
    pending = enrollment.begin(
        runtime.core, ctx, user_id=alice.id, kind="sms", answers={"phone": PHONE}
    )
    assert queue.join()
    assert len(operator.got) == 2 and len(second.got) == 1
    assert second.got[0]["path"] == "/backup"
    enrollment.confirm(
        runtime.core, ctx, user_id=alice.id, credential_id=pending, code=_code(second)
    )


def test_when_every_gateway_fails_the_person_is_told_and_not_counted(
    client: TestClient,
    alice: UserRef,
    runtime: Runtime,
    operator: Receiver,
    second: Receiver,
    clock: FakeClock,
) -> None:
    queue = _queue(runtime)
    flows.enrolled_user(client, clock)
    ctx = runtime.context(Door.CLI, actor="test")
    pending = enrollment.begin(
        runtime.core, ctx, user_id=alice.id, kind="sms", answers={"phone": PHONE}
    )
    assert queue.join()
    enrollment.confirm(
        runtime.core, ctx, user_id=alice.id, credential_id=pending, code=_code(operator)
    )
    operator.statuses = [500, 500]
    second.statuses = [502, 502]
    flows.post_password(client)
    waiting = client.post("/signin/sms", data={"csrf_token": flows.token(client)})
    assert waiting.status_code == 200
    assert queue.join()
    again = client.get(str(waiting.url))
    assert "We could not send the code" in again.text
    with runtime.core.store.read() as s:
        failed = s.query(AuditEvent).filter_by(event="delivery.failed").one()
        assert failed.user_id == alice.id and failed.details["channel"] == "sms"
        assert "HTTP 502" in failed.details["error"]
        user = s.get(User, alice.id)
        assert user is not None and user.factor_failures == 0
