"""SMS codes through the real app and the file gateway: a phone added on Security info (the
pre-registered number offered, bad numbers refused with a 400 that says why), a sign-in and a
step-up with a code, a code used once, five wrong codes ending it, an expired code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent, Challenge, User
from tests.conftest import FakeClock
from tests.integration.sms.conftest import PHONE, add_phone, last_code, person, texts
from tests.integration.web import flows


def _tx(url: str) -> str:
    found = re.search(r"tx=([^&]+)", url)
    assert found is not None, url
    return found.group(1)


def _signed_in_with_totp(client: TestClient, clock: FakeClock) -> str:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    return secret


def _add(client: TestClient, phone: str) -> httpx.Response:
    token = flows.token(client)
    return client.post(
        "/account/methods/add", data={"kind": "sms", "phone": phone, "csrf_token": token}
    )


def test_a_phone_is_added_on_security_info_and_confirmed_with_a_code(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
) -> None:
    _signed_in_with_totp(client, clock)
    start = client.get("/account/methods/add/sms")
    assert start.status_code == 200 and 'type="tel"' in start.text
    page = client.post(
        "/account/methods/add",
        data={"kind": "sms", "phone": "912 34 567", "csrf_token": flows.token(client)},
    )
    assert page.status_code == 200 and page.url.path.endswith("/confirm"), page.text
    assert "•••• 67" in page.text and 'autocomplete="one-time-code"' in page.text
    (sent,) = texts(runtime, sms_file)
    assert sent["to"] == PHONE and sent["text"].endswith(
        f"@localhost #{last_code(runtime, sms_file)}"
    )
    done = client.post(
        page.url.path,
        data={"code": last_code(runtime, sms_file), "csrf_token": flows.token(client)},
    )
    assert done.url.path == "/account", done.text
    assert "•••• 67" in client.get("/account").text
    with runtime.core.store.read() as s:
        audited = s.query(AuditEvent).filter_by(event="sms.sent").one()
        assert audited.details == {"purpose": "activation", "channels": ["sms"]}


def test_an_invalid_or_forbidden_number_gets_a_clear_400(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
) -> None:
    _signed_in_with_totp(client, clock)
    invalid = _add(client, "12")
    assert invalid.status_code == 400
    assert "not a valid mobile phone number" in invalid.text and 'value="12"' in invalid.text
    abroad = _add(client, "+46 70 123 45 67")
    assert abroad.status_code == 400 and "that country" in abroad.text
    empty = _add(client, "")
    assert empty.status_code in {400, 422} and "Internal" not in empty.text
    assert texts(runtime, sms_file) == []


def test_the_pre_registered_number_is_offered(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    person(runtime, "alice", phone="+47 912 34 567")
    _signed_in_with_totp(client, clock)
    start = client.get("/account/methods/add/sms")
    assert f'value="{PHONE}"' in start.text


def test_sign_in_with_a_code_that_works_once(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
) -> None:
    flows.enrolled_user(client, clock)
    add_phone(runtime, sms_file, alice)
    flows.post_password(client)
    waiting = client.post("/signin/sms", data={"csrf_token": flows.token(client)})
    assert waiting.status_code == 200, waiting.text
    assert "•••• 67" in waiting.text and 'autocomplete="one-time-code"' in waiting.text
    tx = _tx(str(waiting.url))
    code = last_code(runtime, sms_file)
    done = client.post(
        f"/signin/sms/answer?tx={tx}", data={"code": code, "csrf_token": flows.token(client)}
    )
    assert done.url.path == "/account", done.text
    flows.sign_out(client)
    flows.post_password(client)
    again = client.post(
        f"/signin/sms/answer?tx={tx}", data={"code": code, "csrf_token": flows.token(client)}
    )
    assert again.status_code in {404, 409} or again.url.path != "/account"


def test_five_wrong_codes_end_the_code(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
) -> None:
    flows.enrolled_user(client, clock)
    add_phone(runtime, sms_file, alice)
    flows.post_password(client)
    waiting = client.post("/signin/sms", data={"csrf_token": flows.token(client)})
    tx = _tx(str(waiting.url))
    code = last_code(runtime, sms_file)
    wrong = "000000" if code != "000000" else "111111"
    statuses = [
        client.post(
            f"/signin/sms/answer?tx={tx}", data={"code": wrong, "csrf_token": flows.token(client)}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 409]
    late = client.post(
        f"/signin/sms/answer?tx={tx}", data={"code": code, "csrf_token": flows.token(client)}
    )
    assert late.url.path != "/account" and late.status_code == 409
    with runtime.core.store.read() as s:
        row = s.get(Challenge, tx)
        assert row is not None and row.state == "failed" and row.data["attempts"] == 5
        user = s.get(User, alice.id)
        assert user is not None and user.factor_failures == 5  # one each, on the one lock state


def test_a_code_expires_after_five_minutes(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
) -> None:
    flows.enrolled_user(client, clock)
    add_phone(runtime, sms_file, alice)
    flows.post_password(client)
    tx = _tx(str(client.post("/signin/sms", data={"csrf_token": flows.token(client)}).url))
    code = last_code(runtime, sms_file)
    clock.advance(minutes=5)
    late = client.post(
        f"/signin/sms/answer?tx={tx}", data={"code": code, "csrf_token": flows.token(client)}
    )
    assert late.url.path != "/account" and late.status_code < 500


def test_a_new_code_waits_and_supersedes_the_old(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
) -> None:
    flows.enrolled_user(client, clock)
    add_phone(runtime, sms_file, alice)
    flows.post_password(client)
    first = _tx(str(client.post("/signin/sms", data={"csrf_token": flows.token(client)}).url))
    old = last_code(runtime, sms_file)
    too_soon = client.post("/signin/sms", data={"csrf_token": flows.token(client)})
    assert too_soon.status_code == 429 and "Wait a moment" in too_soon.text
    clock.advance(seconds=31)
    second = _tx(str(client.post("/signin/sms", data={"csrf_token": flows.token(client)}).url))
    assert second != first
    refused = client.post(
        f"/signin/sms/answer?tx={first}", data={"code": old, "csrf_token": flows.token(client)}
    )
    assert refused.url.path != "/account"
    done = client.post(
        f"/signin/sms/answer?tx={second}",
        data={"code": last_code(runtime, sms_file), "csrf_token": flows.token(client)},
    )
    assert done.url.path == "/account", done.text


def test_step_up_with_a_code(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
) -> None:
    _signed_in_with_totp(client, clock)
    add_phone(runtime, sms_file, alice)
    clock.advance(minutes=30)  # the second factor is no longer fresh
    waiting = client.post("/account/verify/sms", data={"csrf_token": flows.token(client)})
    assert waiting.status_code == 200, waiting.text
    tx = _tx(str(waiting.url))
    done = client.post(
        f"/account/verify/sms/answer?tx={tx}",
        data={"code": last_code(runtime, sms_file), "csrf_token": flows.token(client)},
    )
    assert done.status_code == 200 and done.url.path == "/account", done.text
    with runtime.core.store.read() as s:
        assert s.query(AuditEvent).filter_by(event="signin.step_up", method="sms").count() == 1


class TestPersonBudget:
    @pytest.fixture
    def settings_overrides(self, sms_file: Path) -> dict[str, Any]:
        return {
            "sms_gateway": "file",
            "sms_file": sms_file,
            "public_url": "http://localhost",
            "methods": {"sms": {"per_person_hour": 1}},
        }

    def test_a_spent_budget_gets_a_429_that_says_so(
        self, client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path
    ) -> None:
        _signed_in_with_totp(client, clock)
        assert _add(client, PHONE).status_code == 200
        again = _add(client, PHONE)
        assert again.status_code == 429 and "Too many codes were sent" in again.text
        assert len(texts(runtime, sms_file)) == 1
        with runtime.core.store.read() as s:
            hit = s.query(AuditEvent).filter_by(event="sms.budget_exceeded").one()
            assert hit.details["budget"] == "person" and hit.user_id == alice.id
