"""Crafted input on the SMS pages gets a clear 4xx, never a 500: numbers that are too long, not
text, or NUL; codes that are not six digits; transactions that do not exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.sms.conftest import add_phone, texts
from tests.integration.web import flows


@pytest.mark.parametrize(
    "phone", ["9" * 33, "+47 " + "1" * 200, "+47 912 34 567 ext. 12", "☎", "+", "00"]
)
def test_a_crafted_number_is_a_400(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    runtime: Runtime,
    sms_file: Path,
    phone: str,
) -> None:
    secret = flows.enrolled_user(client, clock)
    flows.post_password(client)
    flows.submit_code(client, flows.code_at(secret, clock))
    answer = client.post(
        "/account/methods/add",
        data={"kind": "sms", "phone": phone, "csrf_token": flows.token(client)},
    )
    assert answer.status_code == 400, answer.text
    assert texts(runtime, sms_file) == []


@pytest.mark.parametrize("code", ["abcdef", "12345", "1234567", "", "١٢٣٤٥٦", "9" * 5000])
def test_a_crafted_code_is_a_4xx(
    client: TestClient,
    alice: UserRef,
    clock: FakeClock,
    runtime: Runtime,
    sms_file: Path,
    code: str,
) -> None:
    flows.enrolled_user(client, clock)
    add_phone(runtime, sms_file, alice)
    flows.post_password(client)
    waiting = client.post("/signin/sms", data={"csrf_token": flows.token(client)})
    tx = str(waiting.url).split("tx=")[1]
    answer = client.post(
        f"/signin/sms/answer?tx={tx}", data={"code": code, "csrf_token": flows.token(client)}
    )
    assert 400 <= answer.status_code < 500, answer.text


@pytest.mark.parametrize("tx", ["nosuch", "x" * 300, "%00", "../../etc"])
def test_a_crafted_transaction_is_a_4xx_or_the_start_again(
    client: TestClient, alice: UserRef, clock: FakeClock, runtime: Runtime, sms_file: Path, tx: str
) -> None:
    flows.enrolled_user(client, clock)
    add_phone(runtime, sms_file, alice)
    flows.post_password(client)
    answer = client.post(
        f"/signin/sms/answer?tx={tx}", data={"code": "123456", "csrf_token": flows.token(client)}
    )
    assert answer.status_code < 500 and answer.url.path != "/account"
    assert client.get(f"/signin/sms/wait?tx={tx}").status_code < 500
