"""Browser sign-in over HTTP against the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent, SignIn, WebSession
from tests.conftest import FakeClock
from tests.integration.web import flows


def test_signin_success_with_totp_reaches_security_info(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    secret = flows.enrolled_user(client, clock)
    step = flows.post_password(client)
    assert step.url.path == "/signin/factor"
    assert 'autocomplete="one-time-code"' in step.text
    done = flows.submit_code(client, flows.code_at(secret, clock))
    assert done.url.path == "/account"
    assert "Security info" in done.text and "alice" in done.text


def test_signin_page_has_labels_and_autocomplete(client: TestClient) -> None:
    html = client.get("/signin").text
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert '<label for="username">' in html and '<label for="password">' in html


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, alice: UserRef
) -> None:
    """RL-06: same status and same body for a wrong password and an unknown user."""
    wrong = flows.post_password(client, "alice", "not the password")
    unknown = flows.post_password(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    token = flows.token(client)
    assert wrong.text.replace(token, "") == unknown.text.replace("nobody", "alice").replace(
        token, ""
    )
    assert "incorrect" in wrong.text


def test_disabled_user_gets_the_generic_answer(
    client: TestClient, runtime: Runtime, alice: UserRef
) -> None:
    from portvakt.core import users
    from portvakt.domain import Door

    users.set_disabled(runtime.core, runtime.context(Door.CLI), "alice", disabled=True)
    answer = flows.post_password(client)
    assert answer.status_code == 401 and "incorrect" in answer.text


def test_wrong_code_is_refused_and_audited(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    good = flows.code_at(secret, clock)
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    answer = flows.submit_code(client, bad)
    assert answer.status_code == 401 and "Check the code" in answer.text
    with runtime.core.store.read() as s:
        events = [e.event for e in s.query(AuditEvent).filter_by(user_id=alice.id)]
    assert "factor.failed" in events


def test_non_digit_code_gets_a_clear_400(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    flows.enrolled_user(client, clock)
    flows.post_password(client)
    answer = flows.submit_code(client, "12ab56")
    assert answer.status_code == 400 and "6 or 8 digits" in answer.text


def test_replayed_code_is_refused(client: TestClient, alice: UserRef, clock: FakeClock) -> None:
    """OTP-03: a code accepted once is refused for the rest of its window, as is an older one."""
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    code = flows.code_at(secret, clock)
    assert flows.submit_code(client, code).url.path == "/account"
    flows.sign_out(client)
    flows.post_password(client)
    replay = flows.submit_code(client, code)
    assert replay.status_code == 401
    older = flows.submit_code(client, flows.code_at(secret, clock, -30))
    assert older.status_code == 401


def test_activation_code_cannot_sign_in_again(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    """OTP-08: the step used to confirm a new method counts as used."""
    flows.post_password(client)
    secret = flows.activate_totp(client, clock)
    flows.sign_out(client)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).status_code == 401


def test_signin_session_id_rotates_and_signout_invalidates_it(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    """SES-02 / SES-05: a fresh session id after sign-in; the old cookie is dead after sign-out."""
    secret = flows.enrolled_user(client, clock)
    client.cookies.set("pv_session", "planted-by-attacker", domain="testserver.local")
    flows.post_password(client)
    flows.submit_code(client, flows.code_at(secret, clock))
    cookie = flows.cookie(client, "pv_session")
    assert cookie and cookie != "planted-by-attacker"
    assert client.get("/account").status_code == 200
    flows.sign_out(client)
    client.cookies.set("pv_session", cookie, domain="testserver.local")
    after = client.get("/account", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"] == "/signin"
    with runtime.core.store.read() as s:
        assert s.query(WebSession).count() == 0


def test_half_signed_in_cannot_reach_account(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    """SES-02: after the password only, nothing but the second-factor pages is reachable."""
    flows.enrolled_user(client, clock)
    flows.post_password(client)
    answer = client.get("/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"


def test_expired_signin_transaction_gets_410(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    clock.advance(minutes=11)
    answer = flows.submit_code(client, flows.code_at(secret, clock))
    assert answer.status_code == 410 and "expired" in answer.text
    with runtime.core.store.read() as s:
        assert s.query(SignIn).count() == 1  # stays until cleaned; it can no longer be used
