"""The Basic OP plan, modules 28 to 38 (SECURITY.md §6): codes used twice, redirect URIs,
POSTed requests, ``client_secret_post``, request objects (not supported: refused the
documented way), the ``claims`` parameter, refresh tokens and PKCE."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.oauth import App

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret


def signed_in(runtime: Runtime, client: TestClient, alice: UserRef) -> None:
    helpers.open_session(runtime, client, alice)


def test_oidcc_codereuse(runtime: Runtime, client: TestClient, app: App, alice: UserRef) -> None:
    signed_in(runtime, client, alice)
    code = helpers.code_for(client, app)
    assert oauth.exchange(client, app, code).status_code == 200
    helpers.token_error(oauth.exchange(client, app, code), "invalid_grant")


def test_oidcc_codereuse_30seconds(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    """Presenting a code again revokes what the first exchange issued (the suite's
    "OP-OAuth-2nd-Revokes"; RFC 6749 4.1.2, OAuth 2.0 Security BCP 4.12)."""
    signed_in(runtime, client, alice)
    code = helpers.code_for(client, app)
    first = oauth.exchange(client, app, code).json()
    assert helpers.userinfo(client, first["access_token"]).status_code == 200
    clock.advance(seconds=30)
    helpers.token_error(oauth.exchange(client, app, code), "invalid_grant")
    info = helpers.userinfo(client, first["access_token"])
    assert info.status_code == 401
    assert info.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    helpers.token_error(helpers.refresh(client, app, first["refresh_token"]), "invalid_grant")
    inspect = client.post(
        "/oauth2/introspect", data={"token": first["access_token"]}, headers=app.basic()
    )
    assert inspect.json() == {"active": False}


def test_oidcc_ensure_registered_redirect_uri(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    params = app.params(redirect_uri="https://portal.example.org/not-registered")
    response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    helpers.assert_error_page(response, "redirect_uri_mismatch")
    assert helpers.AUTHZ not in response.cookies


def test_oidcc_ensure_post_request_succeeds(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    started = client.post("/oauth2/authorize", data=app.params(), follow_redirects=False)
    assert started.status_code == 303 and helpers.location(started) == "/signin"
    assert oauth.follow(client, started).status_code == 200
    got = oauth.at_app(oauth.sign_in(client, clock, secret), app)
    assert got["state"] == app.state
    assert oauth.exchange(client, app, got["code"]).status_code == 200
    json_body = client.post("/oauth2/authorize", json=app.params(), follow_redirects=False)
    helpers.assert_error_page(json_body, "invalid_request")  # a form, or nothing


def test_oidcc_server_client_secret_post(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    data = {
        "grant_type": "authorization_code",
        "code": helpers.code_for(client, app),
        "redirect_uri": app.redirect_uri,
        "code_verifier": app.verifier,
        "client_id": app.client_id,
        "client_secret": app.secret or "",
    }
    answer = client.post("/oauth2/token", data=data)
    assert answer.status_code == 200, answer.text
    claims = oauth.verify_id_token(client, app, answer.json()["id_token"], clock)
    info = helpers.userinfo(client, answer.json()["access_token"])
    assert info.json()["sub"] == claims["sub"]


def unsigned_request_object(app: App, **claims: str) -> str:
    body = {"iss": app.client_id, "aud": oauth.ISSUER, **app.params(), **claims}
    return f"{helpers.b64url({'alg': 'none'})}.{helpers.b64url(body)}."


def test_oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    params = app.params(request_uri="https://portal.example.org/request.jwt")
    response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    helpers.app_error(response, app, "request_uri_not_supported")


def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    params = app.params(request=unsigned_request_object(app))
    response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    helpers.app_error(response, app, "request_not_supported")
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["request_parameter_supported"] is False
    assert metadata["request_uri_parameter_supported"] is False


def test_oidcc_claims_essential(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    """The ``claims`` parameter is not supported (discovery says so) and is ignored: the
    request succeeds and releases what the scopes release."""
    signed_in(runtime, client, alice)
    wanted = json.dumps({"userinfo": {"name": {"essential": True}}})
    body = helpers.tokens_for(client, app, scope="openid", claims=wanted)
    assert helpers.userinfo(client, body["access_token"]).json() == {"sub": helpers.sub_of(body)}
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["claims_parameter_supported"] is False


def test_oidcc_ensure_request_object_with_redirect_uri(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    """The suite puts the real redirect URI only inside the request object. Portvakt reads
    no request objects, so the outer, unregistered one decides: an error page, no redirect."""
    signed_in(runtime, client, alice)
    params = app.params(
        request=unsigned_request_object(app),
        redirect_uri="https://portal.example.org/invalid",
    )
    response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
    helpers.assert_error_page(response, "redirect_uri_mismatch")


def test_oidcc_refresh_token(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    first = helpers.tokens_for(client, app)
    original = oauth.verify_id_token(client, app, first["id_token"], clock)
    clock.advance(seconds=300)
    answer = helpers.refresh(client, app, first["refresh_token"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    second = answer.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]
    renewed = oauth.verify_id_token(client, app, second["id_token"], clock)
    # OpenID Connect Core 12.2: same iss, sub, aud and auth_time; a new iat
    for claim in ("iss", "sub", "aud", "auth_time", "acr", "amr", "sid"):
        assert renewed[claim] == original[claim], claim
    assert renewed["iat"] == original["iat"] + 300 and "nonce" not in renewed
    assert helpers.userinfo(client, second["access_token"]).status_code == 200


def test_oidcc_ensure_request_with_valid_pkce_succeeds(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    code = helpers.code_for(client, app)
    wrong = oauth.exchange(client, app, code, code_verifier="a" * 43)
    helpers.token_error(wrong, "invalid_grant")
    assert oauth.exchange(client, app, code).status_code == 200


def test_request_without_pkce_is_refused(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    cases: list[dict[str, str | None]] = [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge": None},
        {"code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": "s256"},
        {"code_challenge": "too-short"},
        {"code_challenge": "*" * 43},
    ]
    for extra in cases:
        response = client.get(
            "/oauth2/authorize", params=app.params(**extra), follow_redirects=False
        )
        got = helpers.app_error(response, app, "invalid_request")
        assert got["error_description"], extra


def test_code_exchange_without_verifier_is_refused(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    code = helpers.code_for(client, app)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
    missing = client.post("/oauth2/token", data=data, headers=app.basic())
    helpers.token_error(missing, "invalid_request")
    assert oauth.exchange(client, app, code).status_code == 200  # the code was not spent


# -- other checks on the authorization request ------------------------------------------------


def test_response_mode_other_than_query_or_form_post_is_invalid_request(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    """form_post is test_authorize_form_post.py's."""
    signed_in(runtime, client, alice)
    for mode in ("fragment", "jwt"):
        params = app.params(response_mode=mode)
        response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
        helpers.app_error(response, app, "invalid_request")
    assert helpers.code_for(client, app, response_mode="query")


def test_scope_without_openid_is_invalid_scope(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    for scope in ("profile email", "", "OPENID", "openid2"):
        params = app.params(scope=scope)
        response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
        helpers.app_error(response, app, "invalid_scope")


def test_repeated_or_oversized_parameters_are_invalid_request(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    signed_in(runtime, client, alice)
    for name in ("scope", "nonce", "response_type", "code_challenge", "prompt"):
        pairs = [*app.params().items(), (name, app.params().get(name, "x"))]
        response = client.get("/oauth2/authorize", params=urlencode(pairs), follow_redirects=False)
        helpers.app_error(response, app, "invalid_request")
    for name, size in (("nonce", 513), ("login_hint", 257), ("scope", 513)):
        params = app.params(**{name: "openid " + "x" * size})
        response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
        helpers.app_error(response, app, "invalid_request")


def test_repeated_or_oversized_state_is_refused_not_dropped(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    """A code must never reach the app without the state it sent (RFC 6749 4.1.2: state is
    returned exactly as received): such a request is refused, without echoing the state."""
    signed_in(runtime, client, alice)
    repeated = urlencode([*app.params().items(), ("state", "second")])
    for params in (repeated, urlencode(app.params(state="s" * 2049))):
        response = client.get("/oauth2/authorize", params=params, follow_redirects=False)
        assert response.status_code == 303, response.text
        got = oauth.at_app(response, app)
        assert got.get("error") == "invalid_request" and "code" not in got, got
        assert "state" not in got
