"""Push approval through the real app API and pages (PUSH-01..07), with a protocol-level
simulated app; the real Portvakt Authenticator process is tested in tests/e2e."""

from __future__ import annotations

import httpx2
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent, Challenge, Credential
from tests.conftest import FakeClock
from tests.integration.push.simapp import SimApp, add_push_device, number_on
from tests.integration.web import flows


def _signed_in_with_totp(client: TestClient, clock: FakeClock) -> str:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    return secret


def _start_push(client: TestClient) -> httpx2.Response:
    flows.post_password(client)
    page = client.post("/signin/push", data={"csrf_token": flows.token(client)})
    assert page.url.path == "/signin/push/wait", page.text
    return page


def _finish(client: TestClient, page: httpx2.Response) -> httpx2.Response:
    tx = page.url.params["tx"]
    return client.post(f"/signin/push/complete?tx={tx}", data={"csrf_token": flows.token(client)})


def _ready(client: TestClient, clock: FakeClock) -> SimApp:
    _signed_in_with_totp(client, clock)
    app = add_push_device(client, clock)
    flows.sign_out(client)
    return app


def test_activation_makes_an_active_default_less_method(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _ready(client, clock)
    with runtime.core.store.read() as s:
        push = s.query(Credential).filter_by(kind="push").one()
        assert push.state == "active" and push.label == "Test phone"
        assert "jwk" in push.params and push.secret is None
        assert push.params["jwk"].get("d") is None  # only the public key is stored


def test_approval_with_the_right_number_signs_in(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    """PUSH-01: the number shown in the browser, typed in the app, is checked."""
    app = _ready(client, clock)
    page = _start_push(client)
    number = number_on(page.text)
    (challenge,) = app.challenges()
    assert challenge["purpose"] == "signin" and challenge["match"]["mode"] == "type"
    # PUSH-05: the number never travels to the phone
    assert "number" not in challenge and "choices" not in challenge["match"]
    assert number not in challenge["context"].values()
    assert challenge["context"]["account"] == "alice" and challenge["context"]["ip"]
    assert app.approve(challenge, number).json() == {"state": "approved"}
    done = _finish(client, page)
    assert done.url.path == "/account"
    assert "Approval in Portvakt Authenticator" in done.text


def test_wrong_number_fails_and_counts(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    app = _ready(client, clock)
    page = _start_push(client)
    number = number_on(page.text)
    wrong = f"{(int(number) + 1) % 100:02d}"
    (challenge,) = app.challenges()
    answer = app.approve(challenge, wrong)
    assert answer.status_code == 403 and answer.json()["error"] == "wrong_number"
    assert _finish(client, page).status_code == 409
    with runtime.core.store.read() as s:
        assert s.query(Challenge).filter_by(purpose="signin").one().state == "failed"
        from portvakt.store.models import User

        user = s.get(User, alice.id)
        assert user is not None and user.factor_failures == 1


def test_missing_number_and_approve_only_are_refused(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    app = _ready(client, clock)
    _start_push(client)
    (challenge,) = app.challenges()
    bare = app.answer_token(challenge, consent="approve")
    answer = client.post("/api/app/v1/answers", json={"token": bare})
    assert answer.status_code == 400 and answer.json()["error"] == "malformed"


def test_not_me_ends_signin_pauses_push_and_alerts(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    """PUSH-04."""
    app = _ready(client, clock)
    page = _start_push(client)
    (challenge,) = app.challenges()
    assert app.deny(challenge, "not_me").json() == {"state": "denied"}
    assert _finish(client, page).status_code == 409
    again = client.post("/signin/push", data={"csrf_token": flows.token(client)})
    assert again.status_code == 429 and "paused" in again.text
    with runtime.core.store.read() as s:
        fraud = s.query(AuditEvent).filter_by(event="push.fraud_reported").one()
        assert fraud.details["context"]["ip"] and fraud.outcome == "failure"
    clock.advance(minutes=21)
    flows.post_password(client)
    resumed = client.post("/signin/push", data={"csrf_token": flows.token(client)})
    assert resumed.url.path == "/signin/push/wait"


def test_replayed_answer_and_answer_for_another_tx_are_refused(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    """PUSH-02: single use, bound to its challenge."""
    app = _ready(client, clock)
    page = _start_push(client)
    number = number_on(page.text)
    (first,) = app.challenges()
    token = app.answer_token(first, consent="approve", number=number)
    assert client.post("/api/app/v1/answers", json={"token": token}).status_code == 200
    replay = client.post("/api/app/v1/answers", json={"token": token})
    assert replay.status_code == 409 and replay.json()["error"] == "not_pending"
    _finish(client, page)
    flows.sign_out(client)
    _start_push(client)
    (second,) = app.challenges()
    moved = app.answer_token({**second, "nonce": first["nonce"]}, consent="approve", number=number)
    assert client.post("/api/app/v1/answers", json={"token": moved}).status_code == 403


def test_tampered_and_foreign_signatures_are_refused(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    app = _ready(client, clock)
    page = _start_push(client)
    (challenge,) = app.challenges()
    token = app.answer_token(challenge, consent="approve", number=number_on(page.text))
    head, body, sig = token.split(".")
    flipped = f"{head}.{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    assert client.post("/api/app/v1/answers", json={"token": flipped}).status_code == 401
    impostor = SimApp(client, clock, device_id=app.device_id, server=app.server)
    forged = impostor.answer_token(challenge, consent="approve", number=number_on(page.text))
    refused = client.post("/api/app/v1/answers", json={"token": forged})
    assert refused.status_code == 401 and refused.json()["error"] == "bad_signature"


def test_expired_challenge_cannot_be_approved(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    app = _ready(client, clock)
    page = _start_push(client)
    (challenge,) = app.challenges()
    clock.advance(seconds=61)
    late = app.approve(challenge, number_on(page.text))
    assert late.status_code == 410
    assert "expired" in client.get(str(page.url)).text


def test_new_signin_supersedes_the_older_challenge(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    """PUSH-06."""
    app = _ready(client, clock)
    first = _start_push(client)
    (old,) = app.challenges()
    second = _start_push(client)
    (new,) = app.challenges()
    assert new["tx"] != old["tx"]
    stale = app.approve(old, number_on(first.text))
    assert stale.status_code == 409
    assert app.approve(new, number_on(second.text)).json() == {"state": "approved"}


def test_fatigue_limit_three_unanswered_pushes(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    """PUSH-03 (issue 3 sets 3 per 5 minutes)."""
    _ready(client, clock)
    for _ in range(3):
        _start_push(client)
    flows.post_password(client)
    fourth = client.post("/signin/push", data={"csrf_token": flows.token(client)})
    assert fourth.status_code == 429 and "retry-after" in fourth.headers
    assert 'name="code"' in fourth.text  # steered to another method


def test_two_devices_first_answer_wins(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in_with_totp(client, clock)
    phone = add_push_device(client, clock, name="Phone")
    clock.advance(seconds=1)
    laptop = add_push_device(client, clock, name="Laptop")
    flows.sign_out(client)
    page = _start_push(client)
    (on_phone,) = phone.challenges()
    (on_laptop,) = laptop.challenges()
    assert on_phone["tx"] == on_laptop["tx"]
    assert laptop.approve(on_laptop, number_on(page.text)).status_code == 200
    assert phone.approve(on_phone, number_on(page.text)).status_code == 409
    assert _finish(client, page).url.path == "/account"


def test_activation_code_is_single_use(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    """PUSH-07: the same QR twice → the second fails; after 10 minutes it fails too."""
    _signed_in_with_totp(client, clock)
    page = client.post(
        "/account/methods/add", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    from tests.integration.push.simapp import activation_uri

    uri = activation_uri(page.text)
    assert SimApp(client, clock).register(uri).status_code == 201
    again = SimApp(client, clock).register(uri)
    assert again.status_code == 410 and again.json()["error"] == "activation_invalid"
    late_page = client.post(
        "/account/methods/add", data={"kind": "push", "csrf_token": flows.token(client)}
    )
    clock.advance(minutes=10, seconds=1)
    late = SimApp(client, clock).register(activation_uri(late_page.text))
    assert late.status_code == 410
