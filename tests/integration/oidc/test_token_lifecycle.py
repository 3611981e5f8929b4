"""What happens to tokens after they are issued: refresh-token rotation and reuse detection,
revocation (RFC 7009), introspection (RFC 7662) and UserInfo's answers to bad tokens (RFC 6750)."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.core import users
from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.oidc import helpers
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

INVALID_TOKEN = 'Bearer error="invalid_token"'
NO_TOKEN = 'Bearer realm="portvakt"'  # RFC 6750 3.1: no error code when none was presented


@pytest.fixture
def tokens(runtime: Runtime, client: TestClient, app: App, alice: UserRef) -> dict[str, Any]:
    """What ``app`` got from alice's signed-in browser (password and authenticator app)."""
    helpers.open_session(runtime, client, alice)
    return helpers.tokens_for(client, app)


def introspect(client: TestClient, app: App, token: str) -> dict[str, Any]:
    answer = client.post("/oauth2/introspect", data={"token": token}, headers=app.basic())
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body: dict[str, Any] = answer.json()
    return body


def revoke(client: TestClient, app: App, token: str, **extra: str) -> httpx.Response:
    return client.post("/oauth2/revoke", data={"token": token, **extra}, headers=app.basic())


def assert_dead(client: TestClient, app: App, *, access: str, refresh: str | None = None) -> None:
    assert helpers.userinfo(client, access).status_code == 401
    assert introspect(client, app, access) == {"active": False}
    if refresh is not None:
        helpers.token_error(helpers.refresh(client, app, refresh), "invalid_grant")


# -- refresh tokens ---------------------------------------------------------------------------


def test_refresh_token_rotates(
    client: TestClient, clock: FakeClock, app: App, tokens: dict[str, Any]
) -> None:
    seen = {tokens["refresh_token"]}
    current = tokens
    for _ in range(3):
        clock.advance(seconds=60)
        answer = helpers.refresh(client, app, current["refresh_token"])
        assert answer.status_code == 200, answer.text
        current = answer.json()
        assert current["refresh_token"] not in seen
        seen.add(current["refresh_token"])
        assert helpers.userinfo(client, current["access_token"]).status_code == 200
    assert introspect(client, app, current["refresh_token"])["active"] is True


def test_replayed_refresh_token_revokes_the_grant(
    client: TestClient, clock: FakeClock, app: App, tokens: dict[str, Any]
) -> None:
    """OAuth 2.0 Security BCP 4.14.2: a used refresh token presented again means one of two
    holders is an attacker; every token of the grant stops working."""
    second = helpers.refresh(client, app, tokens["refresh_token"]).json()
    third = helpers.refresh(client, app, second["refresh_token"]).json()
    clock.advance(seconds=10)
    replay = helpers.refresh(client, app, tokens["refresh_token"])
    helpers.token_error(replay, "invalid_grant")
    for issued in (tokens, second):
        assert_dead(client, app, access=issued["access_token"])
    assert_dead(client, app, access=third["access_token"], refresh=third["refresh_token"])


def test_refresh_with_narrower_or_wider_scope(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    wider = helpers.refresh(client, app, tokens["refresh_token"], scope="openid profile phone")
    helpers.token_error(wider, "invalid_scope")
    narrower = helpers.refresh(client, app, tokens["refresh_token"], scope="openid")
    assert narrower.status_code == 200, narrower.text


def test_refresh_token_of_another_client_is_invalid_grant(
    runtime: Runtime, client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    other = register(runtime, "Other app")
    helpers.token_error(helpers.refresh(client, other, tokens["refresh_token"]), "invalid_grant")
    assert helpers.refresh(client, app, tokens["refresh_token"]).status_code == 200


def test_access_token_is_not_a_refresh_token(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    helpers.token_error(helpers.refresh(client, app, tokens["access_token"]), "invalid_grant")
    helpers.token_error(helpers.refresh(client, app, "garbage"), "invalid_grant")
    missing = client.post(
        "/oauth2/token", data={"grant_type": "refresh_token"}, headers=app.basic()
    )
    helpers.token_error(missing, "invalid_request")
    assert helpers.userinfo(client, tokens["refresh_token"]).status_code == 401


def test_refresh_token_expires(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, tokens: dict[str, Any]
) -> None:
    clock.advance(days=runtime.settings.oidc_refresh_token_days, seconds=1)
    helpers.token_error(helpers.refresh(client, app, tokens["refresh_token"]), "invalid_grant")


def test_refresh_fails_once_the_person_is_disabled(
    runtime: Runtime, client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    ctx = helpers.cli(runtime)
    users.set_disabled(runtime.core, ctx, "alice", disabled=True)
    helpers.token_error(helpers.refresh(client, app, tokens["refresh_token"]), "invalid_grant")
    assert helpers.userinfo(client, tokens["access_token"]).status_code == 401
    users.set_disabled(runtime.core, ctx, "alice", disabled=False)
    helpers.token_error(helpers.refresh(client, app, tokens["refresh_token"]), "invalid_grant")


# -- revocation (RFC 7009) --------------------------------------------------------------------


def test_revoking_the_refresh_token_revokes_the_grant(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    answer = revoke(client, app, tokens["refresh_token"], token_type_hint="refresh_token")
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["cache-control"] == "no-store"
    assert_dead(client, app, access=tokens["access_token"], refresh=tokens["refresh_token"])


def test_revoking_an_access_token_revokes_only_it(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    assert revoke(client, app, tokens["access_token"]).status_code == 200
    assert_dead(client, app, access=tokens["access_token"])
    renewed = helpers.refresh(client, app, tokens["refresh_token"])
    assert renewed.status_code == 200
    assert helpers.userinfo(client, renewed.json()["access_token"]).status_code == 200


def test_revoking_an_unknown_or_foreign_token_is_200_and_changes_nothing(
    runtime: Runtime, client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    assert revoke(client, app, "no-such-token").status_code == 200
    other = register(runtime, "Other app")
    assert revoke(client, other, tokens["refresh_token"]).status_code == 200
    assert revoke(client, other, tokens["access_token"]).status_code == 200
    assert helpers.userinfo(client, tokens["access_token"]).status_code == 200
    assert helpers.refresh(client, app, tokens["refresh_token"]).status_code == 200


def test_revocation_needs_client_authentication_and_a_token(
    client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    anonymous = client.post("/oauth2/revoke", data={"token": tokens["refresh_token"]})
    helpers.token_error(anonymous, "invalid_client", status=401)
    wrong = client.post(
        "/oauth2/revoke",
        data={"token": tokens["refresh_token"], "client_id": app.client_id, "client_secret": "x"},
    )
    helpers.token_error(wrong, "invalid_client", status=401)
    helpers.token_error(
        client.post("/oauth2/revoke", data={"token_type_hint": "x"}, headers=app.basic()),
        "invalid_request",
    )
    assert helpers.refresh(client, app, tokens["refresh_token"]).status_code == 200


def test_public_client_revokes_its_own_refresh_token(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    cli = register(runtime, "CLI", public=True, redirect_uris=("http://127.0.0.1:8123/cb",))
    helpers.open_session(runtime, client, alice)
    code = helpers.code_for(client, cli)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": cli.redirect_uri,
        "code_verifier": cli.verifier,
        "client_id": cli.client_id,
    }
    issued = client.post("/oauth2/token", data=form).json()
    data = {"token": issued["refresh_token"], "client_id": cli.client_id}
    assert client.post("/oauth2/revoke", data=data).status_code == 200
    assert helpers.userinfo(client, issued["access_token"]).status_code == 401


# -- introspection (RFC 7662) -----------------------------------------------------------------


def test_introspection_of_an_active_access_token(
    client: TestClient, clock: FakeClock, app: App, alice: UserRef, tokens: dict[str, Any]
) -> None:
    seen = introspect(client, app, tokens["access_token"])
    now = int(clock.now().timestamp())
    assert seen == {
        "active": True,
        "scope": "openid profile email",
        "client_id": app.client_id,
        "token_type": "Bearer",
        "exp": now + 600,
        "iat": now,
        "iss": "http://localhost",
        "aud": app.client_id,
        "sub": helpers.sub_of(tokens),
        "username": "alice",
        "acr": "urn:portvakt:acr:mfa",
        "amr": ["pwd", "otp", "mfa"],
    }
    refresh = introspect(client, app, tokens["refresh_token"])
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"


def test_introspection_tells_another_client_nothing(
    runtime: Runtime, client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    other = register(runtime, "Other app")
    assert introspect(client, other, tokens["access_token"]) == {"active": False}
    assert introspect(client, other, tokens["refresh_token"]) == {"active": False}


def test_introspection_of_dead_tokens(
    client: TestClient, clock: FakeClock, app: App, tokens: dict[str, Any]
) -> None:
    assert introspect(client, app, "garbage") == {"active": False}
    assert introspect(client, app, "x" * 5000) == {"active": False}
    renewed = helpers.refresh(client, app, tokens["refresh_token"]).json()
    assert introspect(client, app, tokens["refresh_token"]) == {"active": False}  # used
    clock.advance(seconds=601)
    assert introspect(client, app, renewed["access_token"]) == {"active": False}  # expired
    assert introspect(client, app, renewed["refresh_token"])["active"] is True


def test_introspection_is_refused_to_public_and_unknown_clients(
    runtime: Runtime, client: TestClient, app: App, tokens: dict[str, Any]
) -> None:
    cli = register(runtime, "CLI", public=True, redirect_uris=("http://127.0.0.1:8123/cb",))
    data = {"token": tokens["access_token"], "client_id": cli.client_id}
    helpers.token_error(client.post("/oauth2/introspect", data=data), "unauthorized_client")
    anonymous = client.post("/oauth2/introspect", data={"token": tokens["access_token"]})
    helpers.token_error(anonymous, "invalid_client", status=401)
    json_body = client.post(
        "/oauth2/introspect", json={"token": tokens["access_token"]}, headers=app.basic()
    )
    helpers.token_error(json_body, "invalid_request")


def test_introspection_without_a_token_is_invalid_request(client: TestClient, app: App) -> None:
    """RFC 7662 §2.1: ``token`` is required."""
    data = {"token_type_hint": "access_token"}
    answer = client.post("/oauth2/introspect", data=data, headers=app.basic())
    helpers.token_error(answer, "invalid_request")


# -- UserInfo and bad tokens (RFC 6750 §3) ----------------------------------------------------


BAD_BEARERS = {
    "garbage": {"authorization": "Bearer garbage"},
    "too long": {"authorization": "Bearer " + "x" * 5000},
    "empty": {"authorization": "Bearer "},
    "missing": {},
    "basic": {"authorization": "Basic Zm9vOmJhcg=="},
}


def test_userinfo_with_a_bad_token_is_401(client: TestClient, tokens: dict[str, Any]) -> None:
    for case, headers in BAD_BEARERS.items():
        for method in ("GET", "POST"):
            answer = client.request(method, "/oauth2/userinfo", headers=headers)
            assert answer.status_code == 401, (case, method, answer.text)
            presented = case in {"garbage", "too long"}
            expected = INVALID_TOKEN if presented else NO_TOKEN
            assert answer.headers["www-authenticate"] == expected, case
            assert answer.headers["cache-control"] == "no-store"
            assert answer.json()["error"] == "invalid_token"


def test_userinfo_with_an_expired_token_is_401(
    client: TestClient, clock: FakeClock, tokens: dict[str, Any]
) -> None:
    clock.advance(seconds=599)
    assert helpers.userinfo(client, tokens["access_token"]).status_code == 200
    clock.advance(seconds=2)
    answer = helpers.userinfo(client, tokens["access_token"])
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == INVALID_TOKEN


def test_userinfo_with_a_client_credentials_token_is_401(
    runtime: Runtime, client: TestClient
) -> None:
    job = register(runtime, "Report job", client_credentials=True)
    issued = client.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, headers=job.basic()
    ).json()
    answer = helpers.userinfo(client, issued["access_token"])
    assert answer.status_code == 401  # no person behind it
    assert answer.headers["www-authenticate"] == INVALID_TOKEN
