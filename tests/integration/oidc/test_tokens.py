"""The token endpoint refuses bad input with a precise RFC 6749 §5.2 error: JSON, never a 500,
never cached. Client authentication, grant types, the code's bindings (expiry, redirect URI,
PKCE, client), the client-credentials grant and public clients."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

BASIC_CHALLENGE = 'Basic realm="portvakt"'


def post(client: TestClient, data: dict[str, str], **headers: str) -> httpx.Response:
    return client.post("/oauth2/token", data=data, headers=headers)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def code_grant(app: App, code: str = "x" * 43) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "code_verifier": app.verifier,
    }


@pytest.fixture
def code(runtime: Runtime, client: TestClient, app: App, alice: UserRef) -> str:
    """A fresh code for ``app`` from alice's signed-in browser."""
    helpers.open_session(runtime, client, alice)
    return helpers.code_for(client, app)


# -- client authentication ---------------------------------------------------------------------


def test_unknown_client_is_invalid_client(client: TestClient, app: App) -> None:
    answer = post(client, code_grant(app), authorization=basic("nobody", "x"))
    helpers.token_error(answer, "invalid_client", status=401)
    assert answer.headers["www-authenticate"] == BASIC_CHALLENGE
    by_form = post(client, {**code_grant(app), "client_id": "nobody", "client_secret": "x"})
    helpers.token_error(by_form, "invalid_client", status=401)
    assert "www-authenticate" not in by_form.headers
    anonymous = post(client, code_grant(app))
    helpers.token_error(anonymous, "invalid_client", status=401)


def test_wrong_client_secret_is_invalid_client(client: TestClient, app: App, code: str) -> None:
    answer = post(client, code_grant(app, code), authorization=basic(app.client_id, "pvs_wrong"))
    helpers.token_error(answer, "invalid_client", status=401)
    assert answer.headers["www-authenticate"] == BASIC_CHALLENGE
    form = {**code_grant(app, code), "client_id": app.client_id, "client_secret": "pvs_wrong"}
    by_form = post(client, form)
    helpers.token_error(by_form, "invalid_client", status=401)
    assert "www-authenticate" not in by_form.headers
    no_secret = post(client, {**code_grant(app, code), "client_id": app.client_id})
    helpers.token_error(no_secret, "invalid_client", status=401)
    assert oauth.exchange(client, app, code).status_code == 200  # the code is still good


MALFORMED_BASIC = {
    "not base64": "Basic !!!not-base64!!!",
    "no colon": "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "not utf-8": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "empty": "Basic ",
}


def test_malformed_basic_header_is_invalid_client_with_challenge(
    client: TestClient, app: App
) -> None:
    """RFC 6749 §5.2: a client that tried the Authorization header gets 401 and a
    ``WWW-Authenticate`` for the scheme it used, even when the header could not be read."""
    for case, header in MALFORMED_BASIC.items():
        answer = post(client, code_grant(app), authorization=header)
        helpers.token_error(answer, "invalid_client", status=401)
        assert answer.headers.get("www-authenticate") == BASIC_CHALLENGE, case


def test_basic_and_secret_in_body_is_invalid_request(
    client: TestClient, app: App, code: str
) -> None:
    form = {**code_grant(app, code), "client_secret": app.secret or ""}
    answer = post(client, form, **app.basic())
    helpers.token_error(answer, "invalid_request")
    other = post(client, {**code_grant(app, code), "client_id": "someone-else"}, **app.basic())
    helpers.token_error(other, "invalid_client", status=401)
    assert other.headers["www-authenticate"] == BASIC_CHALLENGE
    assert oauth.exchange(client, app, code).status_code == 200


def test_public_client_with_a_secret_is_invalid_client(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    cli = register(runtime, "CLI", public=True, redirect_uris=("http://127.0.0.1:8123/cb",))
    helpers.open_session(runtime, client, alice)
    form = {**code_grant(cli, helpers.code_for(client, cli)), "client_id": cli.client_id}
    answer = post(client, {**form, "client_secret": "guess"})
    helpers.token_error(answer, "invalid_client", status=401)


# -- the shape of the request ------------------------------------------------------------------


def test_repeated_parameter_is_invalid_request(client: TestClient, app: App, code: str) -> None:
    for name in ("grant_type", "code", "redirect_uri", "code_verifier"):
        pairs = [*code_grant(app, code).items(), (name, code_grant(app, code)[name])]
        answer = client.post(
            "/oauth2/token",
            content=urlencode(pairs),
            headers={"content-type": "application/x-www-form-urlencoded", **app.basic()},
        )
        helpers.token_error(answer, "invalid_request")
    assert oauth.exchange(client, app, code).status_code == 200


def test_missing_grant_type_is_invalid_request(client: TestClient, app: App) -> None:
    helpers.token_error(post(client, {"code": "x"}, **app.basic()), "invalid_request")
    helpers.token_error(post(client, {"grant_type": ""}, **app.basic()), "invalid_request")


UNSUPPORTED_GRANTS = (
    "password",
    "implicit",
    "token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "authorization_code ",
    "garbage",
)


def test_unsupported_grant_type(client: TestClient, app: App) -> None:
    for grant_type in UNSUPPORTED_GRANTS:
        form = {"grant_type": grant_type, "username": "alice", "password": "x", "scope": "openid"}
        body = helpers.token_error(post(client, form, **app.basic()), "unsupported_grant_type")
        assert body["error_description"], grant_type


def test_missing_code_or_redirect_uri_is_invalid_request(
    client: TestClient, app: App, code: str
) -> None:
    for left_out in ("code", "redirect_uri"):
        form = {k: v for k, v in code_grant(app, code).items() if k != left_out}
        helpers.token_error(post(client, form, **app.basic()), "invalid_request")
    assert oauth.exchange(client, app, code).status_code == 200


NOT_A_FORM = {
    "json": ("application/json", b'{"grant_type": "authorization_code"}'),
    "broken json": ("application/json", b'{"grant_type": '),
    "text": ("text/plain", b"grant_type=authorization_code"),
    "broken multipart": ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
    "no content type": (None, b"grant_type=authorization_code"),
}


def test_body_that_is_not_a_form_is_invalid_request(client: TestClient, app: App) -> None:
    for case, (content_type, body) in NOT_A_FORM.items():
        headers = {**app.basic(), **({"content-type": content_type} if content_type else {})}
        answer = client.post("/oauth2/token", content=body, headers=headers)
        assert answer.status_code == 400, case
        helpers.token_error(answer, "invalid_request")


def test_form_with_broken_encoding_is_not_a_server_error(client: TestClient, app: App) -> None:
    answer = client.post(
        "/oauth2/token",
        content=b"grant_type=%ZZ&code=%ff%fe&redirect_uri=\xff",
        headers={"content-type": "application/x-www-form-urlencoded", **app.basic()},
    )
    helpers.token_error(answer, "unsupported_grant_type")  # "%ZZ" is read as it stands


def test_oversized_body_is_413_json(client: TestClient, app: App) -> None:
    form = {**code_grant(app), "padding": "x" * (64 * 1024)}
    answer = post(client, form, **app.basic())
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"] == "too_large"


def test_get_is_not_allowed(client: TestClient) -> None:
    answer = client.get("/oauth2/token")
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("application/json")


# -- what the code is bound to ----------------------------------------------------------------


def test_expired_code_is_invalid_grant(
    client: TestClient, clock: FakeClock, app: App, code: str
) -> None:
    clock.advance(seconds=61)
    helpers.token_error(oauth.exchange(client, app, code), "invalid_grant")


def test_code_is_good_for_60_seconds(
    client: TestClient, clock: FakeClock, app: App, code: str
) -> None:
    clock.advance(seconds=59)
    assert oauth.exchange(client, app, code).status_code == 200


def test_pkce_mismatch_is_invalid_grant(client: TestClient, app: App, code: str) -> None:
    for verifier in ("a" * 43, app.verifier + "x", app.verifier[:-1], "short", "é" * 43):
        answer = oauth.exchange(client, app, code, code_verifier=verifier)
        helpers.token_error(answer, "invalid_grant")
    assert oauth.exchange(client, app, code).status_code == 200


def test_wrong_redirect_uri_is_invalid_grant(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    both = ("https://portal.example.org/callback", "https://portal.example.org/other")
    app = register(runtime, "Two addresses", redirect_uris=both)
    helpers.open_session(runtime, client, alice)
    code = helpers.code_for(client, app)
    for other in (both[1], both[0] + "/", "https://evil.example.com/callback"):
        answer = oauth.exchange(client, app, code, redirect_uri=other)
        helpers.token_error(answer, "invalid_grant")
    assert oauth.exchange(client, app, code).status_code == 200


def test_code_of_another_client_is_invalid_grant(
    runtime: Runtime, client: TestClient, app: App, code: str
) -> None:
    thief = register(runtime, "Other app")
    thief.verifier = app.verifier
    helpers.token_error(oauth.exchange(client, thief, code), "invalid_grant")
    assert oauth.exchange(client, app, code).status_code == 200  # not spent by the thief


def test_unknown_code_is_invalid_grant(client: TestClient, app: App) -> None:
    for value in ("x" * 43, "", "x" * 5000):
        form = code_grant(app, value)
        error = "invalid_request" if not value else "invalid_grant"
        helpers.token_error(post(client, form, **app.basic()), error)


# -- client credentials -----------------------------------------------------------------------


def test_client_credentials_needs_permission(client: TestClient, app: App) -> None:
    form = {"grant_type": "client_credentials", "scope": "openid profile"}
    helpers.token_error(post(client, form, **app.basic()), "unauthorized_client")


def test_client_credentials_gives_an_access_token_only(
    runtime: Runtime, client: TestClient
) -> None:
    job = register(runtime, "Report job", client_credentials=True)
    answer = post(
        client, {"grant_type": "client_credentials", "scope": "openid profile"}, **job.basic()
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["scope"] == "profile"
    info = helpers.userinfo(client, body["access_token"])
    assert info.status_code == 401  # nobody signed in: no UserInfo
    inspect = client.post(
        "/oauth2/introspect", data={"token": body["access_token"]}, headers=job.basic()
    )
    seen = inspect.json()
    assert seen["active"] is True and seen["client_id"] == job.client_id
    assert "sub" not in seen and "username" not in seen


def test_public_client_cannot_be_registered_for_client_credentials(runtime: Runtime) -> None:
    from portvakt.errors import Invalid

    with pytest.raises(Invalid) as refused:
        register(runtime, "Bad", public=True, client_credentials=True)
    assert refused.value.code == "public_client_credentials"


# -- public clients ---------------------------------------------------------------------------


def test_public_client_exchanges_with_pkce_and_no_secret(
    runtime: Runtime, client: TestClient, clock: FakeClock, alice: UserRef
) -> None:
    cli = register(runtime, "CLI", public=True, redirect_uris=("http://127.0.0.1:8123/cb",))
    cli.redirect_uri = "http://127.0.0.1:50000/cb"  # any loopback port (RFC 8252)
    helpers.open_session(runtime, client, alice)
    code = helpers.code_for(client, cli)
    form = {**code_grant(cli, code), "client_id": cli.client_id}
    wrong = post(client, {**form, "code_verifier": "b" * 43})
    helpers.token_error(wrong, "invalid_grant")
    answer = post(client, form)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    claims = oauth.verify_id_token(client, cli, body["id_token"], clock)
    assert claims["aud"] == cli.client_id
    again = post(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": cli.client_id,
        },
    )
    assert again.status_code == 200, again.text
