"""Hardware tokens through the real ASGI app: a person claims a YubiKey with one touch and an
HOTP key fob with its serial and two codes on Security info, then signs in with a 44-character
YubiKey OTP on the sign-in page and through the validate API, each code once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import tokens
from portvakt.domain import Door, UserRef
from portvakt.store.models import AuditEvent
from tests.conftest import FakeClock
from tests.integration.tokens.helpers import OATH_CSV, PUBLIC, YUBICO_LOG, hotp, touch
from tests.integration.validate.conftest import bearer, new_key
from tests.integration.web import flows

CLAIM = "/account/tokens/claim"


def _stock(runtime: Runtime) -> None:
    ctx = runtime.context(Door.CLI, actor="cli:test")
    for fmt, data in (("yubico-csv", YUBICO_LOG), ("csv", OATH_CSV)):
        assert tokens.import_file(runtime.core, ctx, fmt=fmt, data=data.encode()).imported


def _signed_in(client: TestClient, clock: FakeClock) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    assert flows.submit_code(client, flows.code_at(secret, clock)).url.path == "/account"


def _claim(client: TestClient, **fields: str) -> tuple[int, str]:
    answer = client.post(CLAIM, data={**fields, "csrf_token": flows.token(client)})
    return answer.status_code, str(answer.url.path)


def _sign_in_with(client: TestClient, code: str, kind: str) -> str:
    flows.sign_out(client)
    flows.post_password(client)
    answer = client.post(
        "/signin/factor", data={"code": code, "kind": kind, "csrf_token": flows.token(client)}
    )
    return str(answer.url.path)


def test_claim_a_yubikey_with_one_touch_and_sign_in_with_it(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _stock(runtime)
    _signed_in(client, clock)
    account = client.get("/account").text
    assert f'href="{CLAIM}"' in account
    page = client.get(CLAIM)
    assert page.status_code == 200 and 'name="serial"' in page.text

    assert _claim(client, code=touch(1, 0)[:-2] + "cc") == (401, CLAIM)  # bad CRC
    assert _claim(client, code="x" * 300)[0] == 400  # over any kind's code: refused at the door
    assert _claim(client, code=touch(1, 0)) == (200, "/account")
    assert tokens.find(runtime.core, PUBLIC).username == "alice"
    assert "YubiKey" in client.get("/account").text

    otp = touch(1, 1)
    assert len(otp) == 44
    assert _sign_in_with(client, otp, "yubiotp") == "/account"
    assert _sign_in_with(client, otp, "yubiotp") == "/signin/factor"  # replay
    assert _sign_in_with(client, touch(2, 0), "yubiotp") == "/account"
    with runtime.core.store.read() as s:
        events = [e.event for e in s.query(AuditEvent).filter_by(user_id=alice.id)]
    assert "token.claimed" in events and "token.claim_failed" in events
    assert "factor.replay" in events


def test_claim_an_hotp_fob_with_its_serial_and_two_codes(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _stock(runtime)
    _signed_in(client, clock)
    assert _claim(client, serial="fob-1", code=hotp(0)) == (401, CLAIM)
    assert _claim(client, serial="fob-1", code=hotp(0), code2=hotp(2)) == (401, CLAIM)
    assert _claim(client, serial="fob-1", code=hotp(3), code2=hotp(4)) == (200, "/account")
    assert _sign_in_with(client, hotp(4), "oath") == "/signin/factor"
    assert _sign_in_with(client, hotp(6), "oath") == "/account"


def test_the_validate_api_takes_a_44_character_otp_once(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _stock(runtime)
    tokens.assign(runtime.core, runtime.context(Door.CLI), PUBLIC, "alice")
    key = new_key(runtime, "vpn")
    body = {"username": "alice", "code": touch(4, 0)}
    url = "/api/v1/validate"
    assert client.post(url, json=body, headers=bearer(key)).json() == {"status": "accept"}
    assert client.post(url, json=body, headers=bearer(key)).json() == {"status": "reject"}
    too_long = client.post(url, json={"username": "alice", "code": "c" * 257}, headers=bearer(key))
    assert too_long.status_code in (400, 422)


def test_a_first_method_can_be_a_claimed_token(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime
) -> None:
    _stock(runtime)
    assert flows.post_password(client).url.path == "/signin/activate"
    page = client.get("/signin/activate")
    assert 'href="/signin/activate/claim"' in page.text
    assert client.get("/signin/activate/claim").status_code == 200
    path = "/signin/activate/claim"
    wrong = client.post(path, data={"code": touch(1, 0)[:-2], "csrf_token": flows.token(client)})
    assert wrong.status_code == 401 and "could not be added" in wrong.text
    done = client.post(path, data={"code": touch(1, 0), "csrf_token": flows.token(client)})
    assert done.url.path == "/account"
    assert tokens.find(runtime.core, PUBLIC).username == "alice"
    assert _sign_in_with(client, touch(1, 1), "yubiotp") == "/account"
