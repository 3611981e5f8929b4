"""SMS at first activation (the number typed on the kind's start page, confirmed with the code
that was sent), and policy: without ``sms`` in ``allowed_methods`` it is offered nowhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from tests.integration.sms.conftest import PHONE, last_code, texts
from tests.integration.validate.conftest import bearer, new_key
from tests.integration.web import flows


def test_first_activation_with_a_phone(
    client: TestClient, alice: UserRef, runtime: Runtime, sms_file: Path
) -> None:
    assert flows.post_password(client).url.path == "/signin/activate"
    assert "/signin/activate/start/sms" in client.get("/signin/activate").text
    start = client.get("/signin/activate/start/sms")
    assert start.status_code == 200 and 'name="phone"' in start.text
    bad = client.post(
        "/signin/activate/begin",
        data={"kind": "sms", "phone": "+1 202 555 0143", "csrf_token": flows.token(client)},
    )
    assert bad.status_code == 400 and "that country" in bad.text
    page = client.post(
        "/signin/activate/begin",
        data={"kind": "sms", "phone": PHONE, "csrf_token": flows.token(client)},
    )
    assert page.status_code == 200 and "•••• 67" in page.text, page.text
    done = client.post(
        "/signin/activate/confirm",
        data={"code": last_code(runtime, sms_file), "csrf_token": flows.token(client)},
    )
    assert done.url.path == "/account", done.text
    assert len(texts(runtime, sms_file)) == 1


class TestForbiddenByPolicy:
    @pytest.fixture
    def settings_overrides(self, sms_file: Path) -> dict[str, Any]:
        return {
            "sms_gateway": "file",
            "sms_file": sms_file,
            "public_url": "http://localhost",
            "allowed_methods": "totp,push",
        }

    def test_sms_is_offered_nowhere(
        self, client: TestClient, alice: UserRef, runtime: Runtime, sms_file: Path
    ) -> None:
        flows.post_password(client)
        assert "/signin/activate/start/sms" not in client.get("/signin/activate").text
        assert client.get("/signin/activate/start/sms").status_code == 404
        refused = client.post(
            "/signin/activate/begin",
            data={"kind": "sms", "phone": PHONE, "csrf_token": flows.token(client)},
        )
        assert refused.status_code in {400, 403, 404}
        key = new_key(runtime, "vpn")
        answer = client.post(
            "/api/v1/validate", json={"username": "alice", "method": "sms"}, headers=bearer(key)
        )
        assert answer.json() == {"status": "reject"}
        assert texts(runtime, sms_file) == []
