"""'Don't ask again on this device': skip, expiry, and every way it is revoked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import enrollment, users
from portvakt.domain import Door, UserRef
from portvakt.store.models import RememberedDevice
from tests.conftest import FakeClock
from tests.integration.web import flows


def _remembered_signin(client: TestClient, clock: FakeClock) -> str:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    done = flows.submit_code(client, flows.code_at(secret, clock), remember=True)
    assert done.url.path == "/account"
    flows.sign_out(client)
    return secret


def test_remembered_device_skips_the_code_and_is_stored_hashed(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _remembered_signin(client, clock)
    device = flows.cookie(client, "pv_device")
    assert device
    with runtime.core.store.read() as s:
        row = s.query(RememberedDevice).one()
        assert row.token_hash != device and device not in row.token_hash
    answer = flows.post_password(client)
    assert answer.url.path == "/account"
    assert "Remembered device" in answer.text


def test_remember_cookie_is_httponly_and_lax(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    data = {
        "code": flows.code_at(secret, clock),
        "kind": "totp",
        "remember": "on",
        "csrf_token": flows.token(client),
    }
    answer = client.post("/signin/factor", data=data, follow_redirects=False)
    header = [v for k, v in answer.headers.multi_items() if k == "set-cookie" and "pv_device" in v]
    assert header and "HttpOnly" in header[0] and "SameSite=lax" in header[0]
    assert "Max-Age=1728000" in header[0]


def test_remembered_device_expires_after_twenty_days(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _remembered_signin(client, clock)
    clock.advance(days=20, seconds=1)
    assert flows.post_password(client).url.path == "/signin/factor"


def test_remembered_device_belongs_to_one_user(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _remembered_signin(client, clock)
    users.add(
        runtime.core, runtime.context(Door.CLI), username="bob", password="another long password"
    )
    bob = flows.post_password(client, "bob", "another long password")
    assert bob.url.path == "/signin/activate"


def test_user_can_forget_a_device(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _remembered_signin(client, clock)
    page = flows.post_password(client)
    with runtime.core.store.read() as s:
        device_id = s.query(RememberedDevice).one().id
    assert "Forget" in page.text
    client.post(f"/account/devices/{device_id}/revoke", data={"csrf_token": flows.token(client)})
    flows.sign_out(client)
    assert flows.post_password(client).url.path == "/signin/factor"


def test_signout_everywhere_revokes_sessions_and_devices(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _remembered_signin(client, clock)
    flows.post_password(client)
    other = TestClient(client.app)
    client.post("/account/signout-everywhere", data={"csrf_token": flows.token(client)})
    with runtime.core.store.read() as s:
        assert s.query(RememberedDevice).count() == 0
    assert flows.post_password(client).url.path == "/signin/factor"
    other.close()


def test_password_change_and_method_reset_revoke_devices(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _remembered_signin(client, clock)
    ctx = runtime.context(Door.CLI, actor="op")
    users.set_password(runtime.core, ctx, "alice", "a brand new passphrase")
    assert flows.post_password(client, password="a brand new passphrase").url.path == (
        "/signin/factor"
    )
    flows.token(client)
    with runtime.core.store.read() as s:
        assert s.query(RememberedDevice).count() == 0
    client.cookies.clear()
    secret_holder = flows.post_password(client, password="a brand new passphrase")
    assert secret_holder.url.path == "/signin/factor"
    enrollment.reset_all(runtime.core, ctx, user_id=alice.id)
    client.cookies.clear()
    assert flows.post_password(client, password="a brand new passphrase").url.path == (
        "/signin/activate"
    )


def test_zero_days_hides_the_option(client: TestClient, alice: UserRef, clock: FakeClock) -> None:
    from dataclasses import replace

    secret = flows.enrolled_user(client, clock)
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    core = replace(runtime.core, knobs=replace(runtime.core.knobs, remember_device_days=0))
    client.app.state.runtime = replace(runtime, core=core)  # type: ignore[attr-defined]
    page = flows.post_password(client)
    assert "Don't ask again" not in page.text and "ask again" not in page.text
    done = flows.submit_code(client, flows.code_at(secret, clock), remember=True)
    assert done.url.path == "/account" and flows.cookie(client, "pv_device") is None
