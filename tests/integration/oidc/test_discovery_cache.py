"""Discovery names Portvakt after the request's ``Host`` while ``public_url`` is unset, so that
answer must never be stored and handed to a request for another name; the JWKS does not name
anyone and stays cacheable (test_keys.py: both cacheable with ``public_url`` set)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.oidc import helpers

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_url": None}


def test_discovery_is_not_stored_while_public_url_is_unset(client: TestClient) -> None:
    for host in ("mfa.example.org", "attacker.example"):
        answer = client.get(DISCOVERY, headers={"host": host})
        assert answer.status_code == 200
        assert answer.json()["issuer"] == f"http://{host}"
        assert answer.headers["cache-control"] == "no-store"
        assert "max-age" not in answer.headers["cache-control"]


def test_jwks_is_the_same_for_every_host_and_stays_cacheable(client: TestClient) -> None:
    answers = [client.get("/oauth2/jwks", headers={"host": h}) for h in ("a.example", "b.example")]
    assert answers[0].content == answers[1].content
    assert "example" not in answers[0].text
    assert answers[0].headers["cache-control"] == "public, max-age=600"
