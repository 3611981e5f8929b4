"""Security keys and passkeys through the real app at API level, with a software authenticator
(tests/softkey.py) whose bytes the real py_webauthn checks: a key is named and registered on
Security info, signs in as a second factor and at step-up; counter 0 that stays 0 passes, a
count that goes backwards is refused, flagged and audited; wrong origin, wrong RP ID, a
tampered clientDataJSON or authenticatorData, an unknown credential, a reused challenge and
malformed payloads are refused with a clear page, never a 500."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.store.models import AuditEvent, Credential
from tests.conftest import FakeClock
from tests.integration.web import flows
from tests.softkey import SoftKey, b64, unb64

pytestmark = pytest.mark.usefixtures("alice")
OPTIONS = re.compile(r'<script type="application/json" id="webauthn-options">(.*?)</script>', re.S)


def options_on(page: str) -> dict[str, Any]:
    found = OPTIONS.search(page)
    assert found is not None, page
    options: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return options


def answer_action(page: str) -> str:
    found = re.search(r'action="(/[^"]+/answer\?[^"]+)"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def signed_in(client: TestClient, clock: FakeClock) -> str:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    return secret


def add_key(client: TestClient, key: SoftKey, label: str = "Blue key", **how: Any) -> Any:
    start = client.get("/account/methods/add/webauthn")
    assert start.status_code == 200 and 'name="label"' in start.text
    page = client.post(
        "/account/methods/add",
        data={"kind": "webauthn", "label": label, "csrf_token": flows.token(client)},
    )
    assert page.status_code == 200 and page.url.path.endswith("/confirm"), page.text
    options = options_on(page.text)
    assert options["rp"]["id"] == "testserver"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    payload = json.dumps(key.register(options, **how))
    return client.post(page.url.path, data={"payload": payload, "csrf_token": flows.token(client)})


def keys(runtime: Runtime) -> list[Credential]:
    with runtime.core.store.read() as s:
        return list(s.scalars(select(Credential).where(Credential.kind == "webauthn")))


def start_signin(client: TestClient) -> Any:
    flows.sign_out(client)
    flows.post_password(client)
    page = client.post("/signin/webauthn", data={"csrf_token": flows.token(client)})
    assert page.status_code == 200 and page.url.path == "/signin/webauthn/wait", page.text
    return page


def answer(client: TestClient, page: Any, payload: dict[str, Any] | str) -> Any:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        answer_action(page.text), data={"payload": text, "csrf_token": flows.token(client)}
    )


def test_a_key_is_named_registered_and_signs_in(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    signed_in(client, clock)
    key = SoftKey()
    done = add_key(client, key)
    assert done.status_code == 200 and done.url.path == "/account", done.text
    assert "Blue key" in done.text and "Security key or passkey" in done.text
    [row] = keys(runtime)
    assert row.state == "active" and row.label == "Blue key"
    assert row.params["credential_id"] == key.id and row.params["transports"] == ["usb", "nfc"]
    assert row.params["attested"] is False and "challenge" not in row.params
    page = start_signin(client)
    options = options_on(page.text)
    assert [c["id"] for c in options["allowCredentials"]] == [key.id]
    finished = answer(client, page, key.assertion(options))
    assert finished.status_code == 200 and finished.url.path == "/account", finished.text
    with runtime.core.store.read() as s:
        events = [e.event for e in s.scalars(select(AuditEvent))]
    assert "webauthn.approved" in events and events[-1] == "signin.succeeded"


def test_a_passkey_counting_zero_stays_usable_and_a_regressed_count_is_refused(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    signed_in(client, clock)
    passkey = SoftKey(counts=False)
    assert add_key(client, passkey).url.path == "/account"
    for _ in range(2):
        page = start_signin(client)
        assert answer(client, page, passkey.assertion(options_on(page.text))).url.path == (
            "/account"
        )
    counting = SoftKey()
    assert add_key(client, counting, label="Red key").url.path == "/account"
    page = start_signin(client)
    options = options_on(page.text)
    assert answer(client, page, counting.assertion(options, count=5)).url.path == "/account"
    page = start_signin(client)
    refused = answer(client, page, counting.assertion(options_on(page.text), count=3))
    assert refused.status_code == 409 and "wrong use count" not in refused.text
    assert refused.url.path != "/account"
    with runtime.core.store.read() as s:
        row = s.scalars(select(Credential).where(Credential.label == "Red key")).one()
        failed = s.scalars(select(AuditEvent).where(AuditEvent.event == "factor.failed")).all()
    assert row.params["flagged"] == "sign_count_regressed" and row.counter == 5
    assert any((e.details or {}).get("reason") == "sign_count_regressed" for e in failed)


@pytest.mark.parametrize(
    ("bend", "why"),
    [
        ({"origin": "https://evil.example"}, "origin"),
        ({"rp_id": "evil.example"}, "rp id"),
        ({"challenge": b64(b"x" * 32)}, "challenge"),
    ],
)
def test_assertions_from_elsewhere_are_refused(
    client: TestClient, runtime: Runtime, clock: FakeClock, bend: dict[str, Any], why: str
) -> None:
    signed_in(client, clock)
    key = SoftKey()
    add_key(client, key)
    page = start_signin(client)
    refused = answer(client, page, key.assertion(options_on(page.text), **bend))
    assert refused.status_code in {401, 409}, why
    assert refused.url.path == "/signin/webauthn/answer"
    assert 'role="alert"' in refused.text


def test_tampered_unknown_malformed_and_reused_answers(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    signed_in(client, clock)
    key = SoftKey()
    add_key(client, key)
    page = start_signin(client)
    options = options_on(page.text)
    good = key.assertion(options)
    tampered = json.loads(json.dumps(good))
    data = json.loads(unb64(tampered["response"]["clientDataJSON"]))
    data["extra"] = "changed"
    tampered["response"]["clientDataJSON"] = b64(json.dumps(data).encode())
    assert answer(client, page, tampered).status_code in {401, 409}
    page = start_signin(client)
    options = options_on(page.text)
    flipped = key.assertion(options)
    auth = bytearray(unb64(flipped["response"]["authenticatorData"]))
    auth[-1] ^= 1
    flipped["response"]["authenticatorData"] = b64(bytes(auth))
    assert answer(client, page, flipped).status_code in {401, 409}
    page = start_signin(client)
    stranger = SoftKey().assertion(options_on(page.text))
    unknown = answer(client, page, stranger)
    assert unknown.status_code == 401 and "not registered" in unknown.text
    for bad in ["not json", "[1, 2]", json.dumps({"a": [[[[[[[[[[1]]]]]]]]]]})]:
        malformed = answer(client, page, bad)
        assert malformed.status_code == 400 and 'role="alert"' in malformed.text
    assert answer(client, page, "x" * 40000).status_code == 400
    options = options_on(page.text)
    used = key.assertion(options)
    assert answer(client, page, used).url.path == "/account"
    again = client.post(
        answer_action(page.text), data={"payload": json.dumps(used), "csrf_token": "x"}
    )
    assert again.status_code in {403, 409, 410}


def test_registration_refusals(client: TestClient, runtime: Runtime, clock: FakeClock) -> None:
    signed_in(client, clock)
    assert add_key(client, SoftKey(), origin="https://evil.example").status_code == 401
    assert add_key(client, SoftKey(), rp_id="evil.example").status_code == 401
    assert keys(runtime) == [] or all(k.state == "pending" for k in keys(runtime))
    empty = client.post(
        "/account/methods/add",
        data={"kind": "webauthn", "label": "  ", "csrf_token": flows.token(client)},
    )
    assert empty.status_code == 400 and 'name="label"' in empty.text


def test_step_up_with_a_key(client: TestClient, runtime: Runtime, clock: FakeClock) -> None:
    signed_in(client, clock)
    key = SoftKey()
    add_key(client, key)
    clock.advance(seconds=3600)
    page = client.post("/account/verify/webauthn", data={"csrf_token": flows.token(client)})
    assert page.status_code == 200 and page.url.path == "/account/verify/webauthn/wait"
    done = answer(client, page, key.assertion(options_on(page.text)))
    assert done.status_code == 200 and done.url.path == "/account", done.text


def test_the_answer_door_refuses_what_it_cannot_take(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    signed_in(client, clock)
    key = SoftKey()
    add_key(client, key)
    token = flows.token(client)
    assert (
        client.post("/signin/push/answer?tx=abcdefgh", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post("/signin/nope/answer?tx=abcdefgh", data={"csrf_token": token}).status_code
        == 404
    )
    # step-up: an unknown request, a malformed answer, one from elsewhere, an expired one
    clock.advance(seconds=3600)
    gone = client.post("/account/verify/webauthn/answer?tx=abcdefgh", data={"csrf_token": token})
    assert gone.url.path == "/account"
    page = client.post("/account/verify/webauthn", data={"csrf_token": flows.token(client)})
    assert answer(client, page, "{").status_code == 400
    elsewhere = key.assertion(options_on(page.text), origin="https://evil.example")
    assert answer(client, page, elsewhere).status_code in {401, 409}
    page = client.post("/account/verify/webauthn", data={"csrf_token": flows.token(client)})
    options = options_on(page.text)
    clock.advance(seconds=300)
    late = answer(client, page, key.assertion(options))
    assert late.status_code == 409 and "expired" in late.text
    # sign-in: the request of a sign-in that is gone, then wrong answers until the lock
    page = start_signin(client)
    action = answer_action(page.text)
    stranger = SoftKey()
    statuses = [answer(client, page, stranger.assertion(options_on(page.text))).status_code]
    statuses += [
        answer(client, page, stranger.assertion(options_on(page.text))).status_code
        for _ in range(12)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429
    locked = answer(client, page, key.assertion(options_on(page.text)))
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    client.cookies.clear()
    expired = client.post(action, data={"payload": "{}", "csrf_token": flows.token(client)})
    assert expired.status_code == 410


def test_relying_party_checks_py_webauthn_leaves_to_us(
    client: TestClient, runtime: Runtime, clock: FakeClock
) -> None:
    """SECURITY.md WA-03 (a ceremony framed by another site), WA-04 (the backup-eligible flag
    does not change), WA-06 (a user handle names this person), WA-07 (one credential id, one
    person)."""
    signed_in(client, clock)
    key = SoftKey()
    framed = add_key_with(client, key, client_data={"crossOrigin": True})
    assert framed.status_code == 401
    assert (
        add_key_with(client, key, client_data={"topOrigin": "https://evil.example"}).status_code
        == 401
    )
    assert add_key(client, key).url.path == "/account"
    for extra in ({"crossOrigin": True}, {"topOrigin": "https://evil.example"}):
        page = start_signin(client)
        bad = key.assertion(options_on(page.text), client_data=extra)
        assert answer(client, page, bad).status_code in {401, 409}
    page = start_signin(client)
    other = key.assertion(options_on(page.text), handle=b"\x00" * 32, force_handle=True)
    assert answer(client, page, other).status_code in {401, 409}
    page = start_signin(client)
    synced = key.assertion(options_on(page.text), backup_eligible=True)
    assert answer(client, page, synced).status_code in {401, 409}
    with runtime.core.store.read() as s:
        reasons = [
            (e.details or {}).get("reason")
            for e in s.scalars(select(AuditEvent).where(AuditEvent.event == "factor.failed"))
        ]
    assert {"cross_origin", "user_handle_mismatch", "backup_eligibility_changed"} <= set(reasons)
    page = start_signin(client)
    assert answer(client, page, key.assertion(options_on(page.text))).url.path == "/account"
    # the same credential, registered again (here by the same person: any person is refused)
    again = add_key(client, key, label="Copy")
    assert again.status_code == 401 and "already registered" in again.text


def add_key_with(client: TestClient, key: SoftKey, **how: Any) -> Any:
    return add_key(client, key, **how)
