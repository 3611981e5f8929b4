"""Signing in with a passkey instead of the password (``passwordless``), through the real app
with the software authenticator: the sign-in page offers it (autofill token, options without
named credentials, user verification required, a signed challenge) and keeps the password
form; a passkey's answer signs in once; a replay, a forged or missing user handle, an answer
without user verification, an expired or tampered challenge, an unknown key and a sign-in
page without the policy are refused with a clear page, and wrong answers lock like codes."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.store.models import AuditEvent
from tests.conftest import FakeClock
from tests.integration.web import flows
from tests.integration.web.test_webauthn import add_key, signed_in
from tests.softkey import SoftKey

pytestmark = pytest.mark.usefixtures("alice")
PASSKEY = re.compile(r'<script type="application/json" id="passkey-options">(.*?)</script>', re.S)
TOKEN = re.compile(r'name="token" value="([^"]+)"')


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"passwordless": True}


def offered(client: TestClient) -> tuple[dict[str, Any], str, str]:
    page = client.get("/signin")
    assert page.status_code == 200
    found, token = PASSKEY.search(page.text), TOKEN.search(page.text)
    assert found is not None and token is not None, page.text
    return json.loads(html.unescape(found.group(1))), html.unescape(token.group(1)), page.text


def first(client: TestClient, token: str, payload: dict[str, Any] | str) -> Any:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        "/signin/webauthn/first",
        data={"token": token, "payload": text, "csrf_token": flows.token(client)},
    )


def with_passkey(client: TestClient, clock: FakeClock) -> SoftKey:
    signed_in(client, clock)
    key = SoftKey()
    assert add_key(client, key).url.path == "/account"
    flows.sign_out(client)
    return key


def test_a_passkey_signs_in_without_the_password_once(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    key = with_passkey(client, clock)
    options, token, page = offered(client)
    assert 'autocomplete="username webauthn"' in page and 'id="password"' in page
    assert options.get("allowCredentials", []) == [] and options["userVerification"] == "required"
    answer = key.assertion(options)
    done = first(client, token, answer)
    assert done.status_code == 200 and done.url.path == "/account", done.text
    with runtime.core.store.read() as s:
        events = [e.event for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events[-2:] == ["signin.passwordless", "signin.succeeded"]
    since = len(events) - events[::-1].index("session.signout")
    assert "signin.password_ok" not in events[since:]
    flows.sign_out(client)
    again = first(client, token, answer)
    assert again.status_code == 401 and "could not sign you in" in again.text


def test_answers_that_sign_no_one_in(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    key = with_passkey(client, clock)
    options, token, _ = offered(client)
    forged = key.assertion(options, handle=b"\x00" * 7 + b"\x01" + b"x" * 24)
    assert first(client, token, forged).status_code == 401
    options, token, _ = offered(client)
    anonymous = key.assertion(options, handle=b"")
    assert first(client, token, anonymous).status_code == 401
    options, token, _ = offered(client)
    assert first(client, token, key.assertion(options, uv=False)).status_code == 401
    options, token, _ = offered(client)
    stranger = SoftKey()
    stranger.user_handle = key.user_handle  # names alice, but is not her key
    assert first(client, token, stranger.assertion(options)).status_code == 401
    options, token, _ = offered(client)
    tampered = token[:-2] + ("00" if not token.endswith("00") else "11")
    assert first(client, tampered, key.assertion(options)).status_code == 401
    assert first(client, "a.b", key.assertion(options)).status_code == 401
    late = first(client, token, "not json")
    assert late.status_code == 400 and 'id="password"' in late.text
    clock.advance(seconds=301)
    expired = first(client, token, key.assertion(options))
    assert expired.status_code == 401 and "open too long" in expired.text
    options, token, _ = offered(client)
    assert first(client, token, key.assertion(options)).url.path == "/account"


def test_wrong_answers_lock_like_wrong_codes(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    key = with_passkey(client, clock)
    statuses = []
    for _ in range(12):
        options, token, _ = offered(client)
        statuses.append(first(client, token, key.assertion(options, uv=False)).status_code)
    assert statuses[0] == 401 and statuses[-1] == 429
    options, token, _ = offered(client)
    locked = first(client, token, key.assertion(options))
    assert locked.status_code == 429 and "Retry-After" in locked.headers


def test_without_the_policy_there_is_no_offer(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    key = with_passkey(client, clock)
    options, token, _ = offered(client)
    off = replace(runtime.core.knobs, passwordless=False)
    object.__setattr__(runtime.core, "knobs", off)  # the operator switched it off since
    page = client.get("/signin")
    assert "passkey-options" not in page.text and 'autocomplete="username"' in page.text
    assert first(client, token, key.assertion(options)).status_code == 401
