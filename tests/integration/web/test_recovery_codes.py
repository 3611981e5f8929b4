"""Recovery codes end to end: made on Security info (after a fresh second factor), shown once
with a download, confirmed by typing one back; each signs in once (pages and validate API),
the page counts what is left and asks for new ones when few remain; a new set replaces the
old; they are never the default, never offered at first activation, and never the last method
that keeps two-step verification."""

from __future__ import annotations

import re
from urllib.parse import unquote

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.store.models import AuditEvent, Credential
from tests.conftest import FakeClock
from tests.integration.validate.conftest import bearer, new_key
from tests.integration.web import flows


def _signed_in(client: TestClient, clock: FakeClock) -> str:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"
    return secret


def _make_codes(client: TestClient) -> tuple[list[str], str]:
    """Add a set on Security info; the codes as shown, and the confirm form's address."""
    page = client.post(
        "/account/methods/add", data={"kind": "recovery", "csrf_token": flows.token(client)}
    )
    assert page.status_code == 200, page.text
    codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", page.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    download = re.search(
        r'id="download-codes" href="data:text/plain;charset=utf-8,([^"]+)"', page.text
    )
    assert download is not None and 'download="recovery-codes.txt"' in page.text
    assert all(code in unquote(download.group(1)) for code in codes)
    return codes, str(page.url.path)


def _confirm(client: TestClient, path: str, code: str) -> str:
    done = client.post(path, data={"code": code, "csrf_token": flows.token(client)})
    assert done.status_code == 200, done.text
    return str(done.url.path)


def _sign_in_with(client: TestClient, code: str) -> str:
    flows.sign_out(client)
    flows.post_password(client)
    answer = client.post(
        "/signin/factor",
        data={"code": code, "kind": "recovery", "csrf_token": flows.token(client)},
    )
    return str(answer.url.path)


def _methods_table(client: TestClient) -> str:
    return client.get("/account").text.split('class="methods stack"')[1].split("</table>")[0]


def test_codes_are_shown_once_confirmed_and_each_signs_in_once(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _signed_in(client, clock)
    codes, path = _make_codes(client)
    assert client.get(path).text.count("<li><code>") == 10  # still pending: shown again
    wrong = client.post(path, data={"code": "aaaaa-aaaaa", "csrf_token": flows.token(client)})
    assert wrong.status_code == 401 and "<li><code>" in wrong.text
    assert _confirm(client, path, codes[4].upper().replace("-", " ")) == "/account"
    with runtime.core.store.read() as s:
        row = s.query(Credential).filter_by(user_id=alice.id, kind="recovery").one()
        assert row.secret is None and row.key_id is None and not row.is_default
        assert not any(code.replace("-", "") in str(row.params) for code in codes)
    table = _methods_table(client)
    assert "Recovery codes" in table and "10 codes left" in table
    assert table.count("Make default") == 0  # the app is default; codes never are

    clock.advance(seconds=30)
    assert _sign_in_with(client, codes[4]) == "/account"  # the one typed back still works
    assert "9 codes left" in _methods_table(client)
    clock.advance(seconds=30)
    assert _sign_in_with(client, codes[4]) == "/signin/factor"  # used up
    assert _sign_in_with(client, codes[5]) == "/account"
    page = client.get("/account")
    history = page.text.split('class="signins stack"')[1]
    assert "Recovery code" in history
    with runtime.core.store.read() as s:
        events = [e.event for e in s.query(AuditEvent).filter_by(user_id=alice.id)]
    assert "factor.replay" in events


def test_few_codes_left_ask_for_new_ones_and_a_new_set_replaces_the_old(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    secret = _signed_in(client, clock)
    codes, path = _make_codes(client)
    _confirm(client, path, codes[0])
    for code in codes[:7]:
        clock.advance(seconds=30)
        assert _sign_in_with(client, code) == "/account"
    table = _methods_table(client)
    assert "3 codes left" in table and "Make new codes soon." in table

    fresh, path = _make_codes(client)
    assert _confirm(client, path, fresh[0]) == "/account"
    assert "10 codes left" in _methods_table(client)
    with runtime.core.store.read() as s:
        rows = s.query(Credential).filter_by(user_id=alice.id, kind="recovery").all()
        assert len(rows) == 1
    clock.advance(seconds=30)
    assert _sign_in_with(client, codes[8]) == "/signin/factor"  # the old set is gone
    clock.advance(seconds=30)
    assert _sign_in_with(client, fresh[9]) == "/account"
    flows.sign_out(client)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"


def test_codes_are_never_default_first_or_the_last_method(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    page = flows.post_password(client)
    assert page.url.path == "/signin/activate"
    assert 'value="recovery"' not in page.text  # not a way to activate
    flows.activate_totp(client, clock)
    codes, path = _make_codes(client)
    _confirm(client, path, codes[0])
    with runtime.core.store.read() as s:
        ids = {c.kind: c.id for c in s.query(Credential).filter_by(user_id=alice.id)}
    refused = client.post(
        f"/account/methods/{ids['recovery']}/default", data={"csrf_token": flows.token(client)}
    )
    assert refused.status_code == 400 and "default sign-in method" in refused.text
    last = client.post(
        f"/account/methods/{ids['totp']}/delete", data={"csrf_token": flows.token(client)}
    )
    assert last.status_code == 409  # codes alone are no way to sign in
    gone = client.post(
        f"/account/methods/{ids['recovery']}/delete", data={"csrf_token": flows.token(client)}
    )
    assert gone.url.path == "/account" and "Recovery codes" not in _methods_table(client)


def test_the_validate_api_takes_a_recovery_code_once(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _signed_in(client, clock)
    codes, path = _make_codes(client)
    _confirm(client, path, codes[0])
    key = new_key(runtime, "vpn")
    body = {"username": "alice", "code": codes[1]}
    assert client.post("/api/v1/validate", json=body, headers=bearer(key)).json() == {
        "status": "accept"
    }
    again = client.post("/api/v1/validate", json=body, headers=bearer(key)).json()
    assert again == {"status": "reject"}
