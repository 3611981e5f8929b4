"""A refresh that asks for less (RFC 6749 §6): ``scope`` may name only scopes of the original
grant; the new access token, its ID token, UserInfo and introspection carry the narrower
scope, while the rotated refresh token keeps the grant's whole scope. A refused ``scope`` is
a precise ``invalid_scope`` and leaves the refresh token unspent."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.crypto.hashing import sha256_hex
from portvakt.domain import UserRef
from portvakt.store.models import OidcToken
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

GRANTED = "openid profile email phone"


@pytest.fixture
def tokens(runtime: Runtime, client: TestClient, app: App) -> dict[str, Any]:
    """What ``app`` got for bob (who has an e-mail address and a phone number)."""
    bob = helpers.add_person(runtime, "bob", email="bob@example.org", phone="+4712345678")
    helpers.open_session(runtime, client, bob)
    issued = helpers.tokens_for(client, app, scope=GRANTED)
    assert issued["scope"] == GRANTED
    return issued


def introspect(client: TestClient, app: App, token: str) -> dict[str, Any]:
    body: dict[str, Any] = client.post(
        "/oauth2/introspect", data={"token": token}, headers=app.basic()
    ).json()
    return body


def refreshed(client: TestClient, app: App, token: str, **extra: str) -> dict[str, Any]:
    answer = helpers.refresh(client, app, token, **extra)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_narrower_scope_is_what_the_new_access_token_carries(
    client: TestClient, clock: FakeClock, app: App, tokens: dict[str, Any]
) -> None:
    narrow = refreshed(client, app, tokens["refresh_token"], scope="email openid")
    assert narrow["scope"] == "openid email"  # in the grant's order
    info = helpers.userinfo(client, narrow["access_token"]).json()
    assert info == {"sub": helpers.sub_of(tokens), "email": "bob@example.org"}
    assert introspect(client, app, narrow["access_token"])["scope"] == "openid email"
    claims = oauth.verify_id_token(client, app, narrow["id_token"], clock)
    assert claims["email"] == "bob@example.org"
    assert "preferred_username" not in claims and "phone_number" not in claims
    # the earlier access token keeps what it was issued with
    assert "phone_number" in helpers.userinfo(client, tokens["access_token"]).json()


def test_rotated_refresh_token_keeps_the_whole_grant(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    """As Keycloak and most providers do: narrowing is per access token; a later refresh
    may ask for the whole grant again."""
    narrow = refreshed(client, app, tokens["refresh_token"], scope="openid")
    assert introspect(client, app, narrow["refresh_token"])["scope"] == GRANTED
    whole = refreshed(client, app, narrow["refresh_token"])
    assert whole["scope"] == GRANTED
    assert "phone_number" in helpers.userinfo(client, whole["access_token"]).json()
    again = refreshed(client, app, whole["refresh_token"], scope=GRANTED)
    assert again["scope"] == GRANTED


def test_omitted_scope_is_the_grants(client: TestClient, app: App, tokens: dict[str, Any]) -> None:
    whole = refreshed(client, app, tokens["refresh_token"])
    assert whole["scope"] == GRANTED and "id_token" in whole
    assert introspect(client, app, whole["access_token"])["scope"] == GRANTED


def test_without_openid_there_is_no_id_token_and_no_userinfo(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    plain = refreshed(client, app, tokens["refresh_token"], scope="profile email")
    assert plain["scope"] == "profile email"
    assert "id_token" not in plain and "refresh_token" in plain
    answer = helpers.userinfo(client, plain["access_token"])
    helpers.token_error(answer, "insufficient_scope", status=403)
    assert introspect(client, app, plain["access_token"])["scope"] == "profile email"
    assert "id_token" in refreshed(client, app, plain["refresh_token"])


def test_scope_beyond_the_grant_is_invalid_scope_and_spends_nothing(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    issued = helpers.tokens_for(client, app, scope="openid profile")
    for scope in ("openid profile email", "phone", "openid address", "offline_access"):
        answer = helpers.refresh(client, app, issued["refresh_token"], scope=scope)
        body = helpers.token_error(answer, "invalid_scope")
        assert body["error_description"] == "The scope exceeds what was granted.", scope
    # not spent, and no reuse was detected: the grant's tokens still work
    assert helpers.userinfo(client, issued["access_token"]).status_code == 200
    assert refreshed(client, app, issued["refresh_token"])["scope"] == "openid profile"


BAD_SCOPES = {
    "empty": ("", "scope is empty; leave it out to keep the grant's."),
    "repeated": ("openid openid", "A scope is repeated."),
    "repeated apart": ("openid email openid", "A scope is repeated."),
    "unknown": ("openid frobnicate", "The scope exceeds what was granted."),
    "too long": ("openid " + "x" * 600, "scope is too long."),
    "two spaces": ("openid  email", "scope is malformed (RFC 6749 §3.3)."),
    "leading space": (" openid", "scope is malformed (RFC 6749 §3.3)."),
    "trailing space": ("openid ", "scope is malformed (RFC 6749 §3.3)."),
    "only spaces": ("   ", "scope is malformed (RFC 6749 §3.3)."),
    "tab": ("openid\temail", "scope is malformed (RFC 6749 §3.3)."),
    "newline": ("openid\nemail", "scope is malformed (RFC 6749 §3.3)."),
    "quote": ('openid "email"', "scope is malformed (RFC 6749 §3.3)."),
    "backslash": ("openid\\email", "scope is malformed (RFC 6749 §3.3)."),
    "not ascii": ("openid prófile", "scope is malformed (RFC 6749 §3.3)."),
    "comma": ("openid,email", "The scope exceeds what was granted."),
}


def test_bad_scope_is_a_precise_invalid_scope_and_spends_nothing(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    for case, (scope, description) in BAD_SCOPES.items():
        answer = helpers.refresh(client, app, tokens["refresh_token"], scope=scope)
        body = helpers.token_error(answer, "invalid_scope")
        assert body["error_description"] == description, case
    assert helpers.userinfo(client, tokens["access_token"]).status_code == 200
    assert refreshed(client, app, tokens["refresh_token"], scope="openid")["scope"] == "openid"


def test_nul_in_scope_is_refused_at_the_edge_and_spends_nothing(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    """NUL never reaches the token endpoint (web.nul): ``invalid_request``, as anywhere."""
    answer = helpers.refresh(client, app, tokens["refresh_token"], scope="openid\x00")
    helpers.token_error(answer, "invalid_request")
    assert refreshed(client, app, tokens["refresh_token"], scope="openid")["scope"] == "openid"


def test_repeated_scope_parameter_is_invalid_request(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    body = (
        f"grant_type=refresh_token&refresh_token={tokens['refresh_token']}&scope=openid&scope=email"
    )
    headers = {"content-type": "application/x-www-form-urlencoded", **app.basic()}
    answer = client.post("/oauth2/token", content=body, headers=headers)
    helpers.token_error(answer, "invalid_request")
    assert refreshed(client, app, tokens["refresh_token"])["scope"] == GRANTED


def test_used_refresh_token_with_a_narrower_scope_still_revokes_the_grant(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    second = refreshed(client, app, tokens["refresh_token"])
    replay = helpers.refresh(client, app, tokens["refresh_token"], scope="openid")
    helpers.token_error(replay, "invalid_grant")
    assert helpers.userinfo(client, second["access_token"]).status_code == 401
    helpers.token_error(helpers.refresh(client, app, second["refresh_token"]), "invalid_grant")


def test_only_a_narrowed_access_token_stores_a_scope_of_its_own(
    runtime: Runtime, client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    narrow = refreshed(client, app, tokens["refresh_token"], scope="openid profile")
    whole = refreshed(client, app, narrow["refresh_token"])
    with runtime.core.store.read() as s:
        stored = {row.id: row.scope for row in s.scalars(select(OidcToken))}
    assert stored[sha256_hex(narrow["access_token"])] == "openid profile"
    for same_as_grant in (
        tokens["access_token"],
        narrow["refresh_token"],
        whole["access_token"],
        whole["refresh_token"],
    ):
        assert stored[sha256_hex(same_as_grant)] is None
