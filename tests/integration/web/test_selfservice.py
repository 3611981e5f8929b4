"""Security info: list, add (with step-up), rename, default, delete, recent sign-ins."""

from __future__ import annotations

import httpx2 as httpx
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import Credential
from tests.conftest import FakeClock
from tests.integration.web import flows


def _signed_in(client: TestClient, clock: FakeClock) -> str:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    return secret


def _add_second(client: TestClient, clock: FakeClock) -> tuple[str, httpx.Response]:
    page = client.post(
        "/account/methods/add", data={"kind": "totp", "csrf_token": flows.token(client)}
    )
    assert page.status_code == 200, page.text
    secret = flows.secret_on_page(page.text)
    done = client.post(
        str(page.url.path),
        data={"code": flows.code_at(secret, clock), "csrf_token": flows.token(client)},
    )
    return secret, done


def _ids(runtime: Runtime) -> list[int]:
    with runtime.core.store.read() as s:
        return [c.id for c in s.query(Credential).filter_by(state="active").order_by(Credential.id)]


def test_recent_signins_show_time_ip_browser_method_outcome(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    secret = _signed_in(client, clock)
    flows.sign_out(client)
    flows.post_password(client, password="wrong password here")
    clock.advance(seconds=30)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    page = client.get("/account")
    table = page.text.split('class="signins stack"')[1]
    assert "Signed in" in table and "Wrong password" in table
    assert "Authenticator app code" in table and "testclient" in table
    methods = page.text.split('class="methods stack"')[1].split("</table>")[0]
    assert "Authenticator app" in methods and "Default" in methods


def test_adding_a_method_needs_a_fresh_second_factor(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    secret = _signed_in(client, clock)
    clock.advance(minutes=11)
    stale = client.get("/account/methods/add", follow_redirects=False)
    assert stale.status_code == 303 and stale.headers["location"].startswith("/account/verify")
    verify = client.post(
        stale.headers["location"],
        data={
            "code": flows.code_at(secret, clock),
            "kind": "totp",
            "csrf_token": flows.token(client),
        },
    )
    assert verify.url.path == "/account/methods/add"
    _, done = _add_second(client, clock)
    assert done.url.path == "/account"


def test_rename_default_and_delete(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _signed_in(client, clock)
    _secret2, _ = _add_second(client, clock)
    first, second = _ids(runtime)
    client.post(
        f"/account/methods/{second}/rename",
        data={"label": "  Work   phone ", "csrf_token": flows.token(client)},
    )
    client.post(f"/account/methods/{second}/default", data={"csrf_token": flows.token(client)})
    with runtime.core.store.read() as s:
        row = s.get(Credential, second)
        assert row is not None and row.label == "Work phone" and row.is_default
    client.post(f"/account/methods/{second}/delete", data={"csrf_token": flows.token(client)})
    assert _ids(runtime) == [first]
    with runtime.core.store.read() as s:
        row = s.get(Credential, first)
        assert row is not None and row.is_default


def test_last_method_cannot_be_deleted(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _signed_in(client, clock)
    (only,) = _ids(runtime)
    answer = client.post(
        f"/account/methods/{only}/delete", data={"csrf_token": flows.token(client)}
    )
    assert answer.status_code == 409 and "only sign-in method" in answer.text
    assert _ids(runtime) == [only]


def test_delete_needs_a_fresh_second_factor(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _signed_in(client, clock)
    _add_second(client, clock)
    first, second = _ids(runtime)
    clock.advance(minutes=11)
    answer = client.post(
        f"/account/methods/{second}/delete",
        data={"csrf_token": flows.token(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and "/account/verify" in answer.headers["location"]
    assert _ids(runtime) == [first, second]


def test_other_users_methods_are_not_reachable(
    client: TestClient, alice: UserRef, clock: FakeClock
) -> None:
    _signed_in(client, clock)
    answer = client.post(
        "/account/methods/9999/rename", data={"label": "x", "csrf_token": flows.token(client)}
    )
    assert answer.status_code == 404
