"""Bad input on every form: a clear 4xx page, never a 500, never a stack trace, no data change."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import Credential
from tests.conftest import FakeClock
from tests.integration.web import flows


def _ok(answer_status: int) -> bool:
    return 400 <= answer_status < 500


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "alice"},
        {"username": "a" * 300, "password": "x"},
        {"username": "alice", "password": "p" * 2000},
        {"username": "\x00\x01", "password": "x"},
        {"username": "ålice\u202e", "password": "x"},
    ],
)
def test_signin_form_bad_input(client: TestClient, alice: UserRef, data: dict[str, str]) -> None:
    answer = client.post("/signin", data={**data, "csrf_token": flows.token(client)})
    assert _ok(answer.status_code), answer.status_code
    assert "Traceback" not in answer.text


def test_signin_form_malformed_multipart(client: TestClient) -> None:
    flows.token(client)
    answer = client.post(
        "/signin",
        content=b"--xx\r\nbroken",
        headers={"content-type": "multipart/form-data; boundary=xx"},
    )
    assert _ok(answer.status_code)


@pytest.mark.parametrize("code", ["", "abcdef", "1234567", "1" * 40, "１２３４５６", "12 34 5"])
def test_factor_form_bad_codes(
    client: TestClient, alice: UserRef, clock: FakeClock, code: str
) -> None:
    flows.enrolled_user(client, clock)
    flows.post_password(client)
    answer = flows.submit_code(client, code)
    assert _ok(answer.status_code) and "Traceback" not in answer.text


def test_factor_form_unknown_kind(client: TestClient, alice: UserRef, clock: FakeClock) -> None:
    flows.enrolled_user(client, clock)
    flows.post_password(client)
    answer = client.post(
        "/signin/factor",
        data={"code": "123456", "kind": "carrier-pigeon", "csrf_token": flows.token(client)},
    )
    assert _ok(answer.status_code)


def test_factor_form_without_signin_cookie_is_410(client: TestClient) -> None:
    answer = flows.submit_code(client, "123456")
    assert answer.status_code == 410


def test_activation_forms_bad_input(client: TestClient, alice: UserRef) -> None:
    flows.post_password(client)
    bad_kind = client.post(
        "/signin/activate/begin", data={"kind": "nope", "csrf_token": flows.token(client)}
    )
    assert bad_kind.status_code == 400
    no_pending = client.post(
        "/signin/activate/confirm", data={"code": "123456", "csrf_token": flows.token(client)}
    )
    assert no_pending.status_code == 410
    flows.post_password(client)
    client.post("/signin/activate/begin", data={"kind": "totp", "csrf_token": flows.token(client)})
    letters = client.post(
        "/signin/activate/confirm", data={"code": "abc", "csrf_token": flows.token(client)}
    )
    assert letters.status_code == 400 and 'class="qr"' in letters.text


def test_account_forms_bad_input(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    flows.submit_code(client, flows.code_at(secret, clock))
    with runtime.core.store.read() as s:
        cred = s.query(Credential).one()
    token = flows.token(client)
    cases = [
        (f"/account/methods/{cred.id}/rename", {"label": ""}),
        (f"/account/methods/{cred.id}/rename", {"label": "x" * 65}),
        (f"/account/methods/{cred.id}/rename", {"label": "x" * 500}),
        (f"/account/methods/{cred.id}/rename", {"label": "bad\x07bell"}),
        ("/account/methods/not-a-number/rename", {"label": "x"}),
        ("/account/methods/add", {"kind": "nope"}),
        ("/account/methods/add", {}),
        ("/account/methods/12345/confirm", {"code": "123456"}),
        ("/account/verify", {"code": "letters"}),
        ("/account/verify", {}),
        ("/account/devices/77/revoke", {}),
    ]
    for path, data in cases:
        answer = client.post(path, data={**data, "csrf_token": token})
        assert _ok(answer.status_code), (path, data, answer.status_code)
        assert "Traceback" not in answer.text
    with runtime.core.store.read() as s:
        assert s.query(Credential).one().label == cred.label


@pytest.mark.parametrize("crafted", ["²", "1" * 40, "9" * 11, "-1", "0", "007", "%00"])
def test_account_paths_with_a_crafted_id_get_400(
    client: TestClient, alice: UserRef, clock: FakeClock, crafted: str
) -> None:
    """An id in the path is ASCII digits that fit the id column (issue 9, item 5): 40 digits
    overflowed it on both databases, 11 on PostgreSQL, and a 500 followed."""
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    flows.submit_code(client, flows.code_at(secret, clock))
    token = flows.token(client)
    for action in ("rename", "default", "delete", "confirm"):
        data = {"label": "x", "code": "123456", "csrf_token": token}
        answer = client.post(f"/account/methods/{crafted}/{action}", data=data)
        assert answer.status_code == 400, (action, answer.status_code)
    assert client.get(f"/account/methods/{crafted}/confirm").status_code == 400
    assert client.get(f"/account/methods/{crafted}/push").status_code == 400
    revoke = client.post(f"/account/devices/{crafted}/revoke", data={"csrf_token": token})
    assert revoke.status_code == 400


def test_language_switch_ignores_foreign_redirects(client: TestClient) -> None:
    answer = client.get("/lang/nb?next=//evil.example/x", follow_redirects=False)
    assert answer.headers["location"] == "/account"
    unknown = client.get("/lang/xx?next=/signin", follow_redirects=False)
    assert unknown.status_code == 303 and "pv_lang" not in unknown.headers.get("set-cookie", "")
