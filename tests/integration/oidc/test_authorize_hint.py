"""``id_token_hint`` at the authorization endpoint (OpenID Connect Core 3.1.2.1): an ID token
Portvakt issued to the requesting app, expired or not, names who the app expects to be signed
in. Someone else signed in: ``login_required`` with ``prompt=none``, else a fresh sign-in. A
hint Portvakt did not issue to this app is ``invalid_request`` at the (verified) redirect URI."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from portvakt.app import Runtime
from portvakt.core.oidc import keys
from portvakt.domain import Door, UserRef
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret


def ask(client: TestClient, app: App, **extra: str | None) -> httpx.Response:
    return client.get("/oauth2/authorize", params=app.params(**extra), follow_redirects=False)


def id_token_of(runtime: Runtime, client: TestClient, app: App, person: UserRef) -> str:
    """An ID token for ``person`` from ``app``'s point of view; the browser keeps no session."""
    client.cookies.clear()
    helpers.open_session(runtime, client, person)
    token: str = helpers.tokens_for(client, app)["id_token"]
    client.cookies.clear()
    return token


def claims_of(client: TestClient, clock: FakeClock, app: App, response: httpx.Response) -> Any:
    got = oauth.at_app(response, app)
    assert "error" not in got and got["state"] == app.state, got
    answer = oauth.exchange(client, app, got["code"])
    assert answer.status_code == 200, answer.text
    return oauth.verify_id_token(client, app, answer.json()["id_token"], clock)


def signed_by_us(runtime: Runtime, claims: dict[str, Any]) -> str:
    """A JWT signed with Portvakt's current ES256 key (to vary the claims of a real hint)."""
    kid, key = keys.signing_key(runtime.core, runtime.context(Door.OIDC), "ES256")
    return keys.encode({"alg": "ES256", "kid": kid}, claims, key)


def test_hint_for_the_signed_in_person_is_answered_even_when_expired(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    hint = id_token_of(runtime, client, app, alice)
    helpers.open_session(runtime, client, alice)
    clock.advance(minutes=30)  # the hint expired after 10 minutes; the session lives on
    claims = claims_of(client, clock, app, ask(client, app, id_token_hint=hint, prompt="none"))
    assert claims["sub"] == helpers.jwt_parts(hint)[1]["sub"]
    claims_of(client, clock, app, ask(client, app, id_token_hint=hint))


def test_hint_for_someone_else_with_prompt_none_is_login_required(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    bob = helpers.add_person(runtime, "bob")
    hint = id_token_of(runtime, client, app, bob)
    helpers.open_session(runtime, client, alice)
    response = ask(client, app, id_token_hint=hint, prompt="none")
    got = helpers.app_error(response, app, "login_required")
    assert "id_token_hint" in got["error_description"]
    assert helpers.AUTHZ not in response.cookies  # nothing parked
    assert client.get("/account", follow_redirects=False).status_code == 200  # still alice


def test_hint_for_someone_else_asks_for_a_fresh_sign_in(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, secret: str, alice: UserRef
) -> None:
    bob = helpers.add_person(runtime, "bob")
    hint = id_token_of(runtime, client, app, alice)
    helpers.open_session(runtime, client, bob)
    clock.advance(seconds=1)
    response = ask(client, app, id_token_hint=hint)
    assert response.status_code == 303 and helpers.location(response) == "/signin?login=1"
    page = oauth.follow(client, response)
    assert page.request.url.path == "/signin" and 'name="password"' in page.text
    # bob's session does not answer the waiting request
    assert helpers.location(client.get("/oauth2/resume", follow_redirects=False)) == (
        "/signin?login=1"
    )
    claims = claims_of(client, clock, app, oauth.sign_in(client, clock, secret))
    assert claims["sub"] == helpers.jwt_parts(hint)[1]["sub"]
    assert claims["preferred_username"] == "alice"


def test_signing_in_again_as_someone_else_than_the_hint_is_login_required(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, secret: str, alice: UserRef
) -> None:
    bob = helpers.add_person(runtime, "bob")
    hint = id_token_of(runtime, client, app, bob)
    helpers.open_session(runtime, client, alice)
    clock.advance(seconds=1)
    assert oauth.follow(client, ask(client, app, id_token_hint=hint)).request.url.path == "/signin"
    answer = oauth.sign_in(client, clock, secret)  # alice again, not bob
    helpers.app_error(answer, app, "login_required")
    assert helpers.AUTHZ not in client.cookies


def test_hint_without_a_session_signs_in_the_person_it_names(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, secret: str, alice: UserRef
) -> None:
    hint = id_token_of(runtime, client, app, alice)
    helpers.app_error(ask(client, app, id_token_hint=hint, prompt="none"), app, "login_required")
    assert oauth.authorize(client, app, id_token_hint=hint).request.url.path == "/signin"
    claims = claims_of(client, clock, app, oauth.sign_in(client, clock, secret))
    assert claims["preferred_username"] == "alice"


def test_hint_not_issued_by_us_is_invalid_request(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    real = id_token_of(runtime, client, app, alice)
    header, claims = helpers.jwt_parts(real)
    head, _, signature = real.split(".")
    tampered = f"{head}.{helpers.b64url(claims | {'sub': 'f' * 32})}.{signature}"
    foreign_key = ECKey.generate_key("P-256", private=True)
    foreign = jwt.encode({"alg": "ES256", "kid": header["kid"]}, claims, foreign_key)
    other_issuer = signed_by_us(runtime, claims | {"iss": "https://evil.example.com"})
    unsigned = f"{helpers.b64url({'alg': 'none'})}.{helpers.b64url(claims)}."
    helpers.open_session(runtime, client, alice)
    for hint in ("garbage", "a.b.c", tampered, foreign, other_issuer, unsigned, "x" * 9000):
        got = helpers.app_error(ask(client, app, id_token_hint=hint), app, "invalid_request")
        assert "id_token_hint" in got["error_description"], got


def test_hint_issued_to_another_app_is_invalid_request(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    other = register(runtime, "Other app")
    hint = id_token_of(runtime, client, other, alice)
    helpers.open_session(runtime, client, alice)
    got = helpers.app_error(ask(client, app, id_token_hint=hint), app, "invalid_request")
    assert got["error_description"] == "id_token_hint was issued to another app."


def test_hint_audience_must_include_the_app(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    _, claims = helpers.jwt_parts(id_token_of(runtime, client, app, alice))
    helpers.open_session(runtime, client, alice)
    several = signed_by_us(runtime, claims | {"aud": ["someone-else", app.client_id]})
    claims_of(client, clock, app, ask(client, app, id_token_hint=several))
    for bad in (
        claims | {"aud": ["someone-else"]},
        claims | {"aud": []},
        {k: v for k, v in claims.items() if k != "aud"},
        {k: v for k, v in claims.items() if k != "sub"},
        claims | {"sub": 7},
    ):
        response = ask(client, app, id_token_hint=signed_by_us(runtime, bad))
        helpers.app_error(response, app, "invalid_request")


def test_hint_signed_by_a_withdrawn_key_is_invalid_request(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    hint = id_token_of(runtime, client, app, alice)
    keys.rotate(runtime.core, runtime.context(Door.CLI), immediately=True)  # a leaked key
    helpers.open_session(runtime, client, alice)
    helpers.app_error(ask(client, app, id_token_hint=hint), app, "invalid_request")


def test_bad_hint_is_never_sent_to_an_unverified_redirect_uri(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    evil = "https://evil.example.com/callback"
    response = ask(client, app, id_token_hint="garbage", redirect_uri=evil)
    helpers.assert_error_page(response, "redirect_uri_mismatch")


def test_repeated_hint_is_invalid_request(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    hint = id_token_of(runtime, client, app, alice)
    helpers.open_session(runtime, client, alice)
    query: list[tuple[str, str | int | float | bool | None]] = [*app.params().items()]
    query += [("id_token_hint", hint), ("id_token_hint", hint)]
    response = client.get("/oauth2/authorize", params=query, follow_redirects=False)
    helpers.app_error(response, app, "invalid_request")
