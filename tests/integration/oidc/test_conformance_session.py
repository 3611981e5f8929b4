"""The Basic OP plan, modules 17 to 27 (SECURITY.md §6): what the browser's Portvakt session
means for an authorization request: ``prompt``, ``max_age``, hints, locales and ``acr_values``."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
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


def first_sign_in(client: TestClient, clock: FakeClock, app: App, secret: str) -> dict[str, Any]:
    """alice signs in through the pages for ``app``; the verified ID token's claims."""
    assert oauth.authorize(client, app).request.url.path == "/signin"
    got = oauth.at_app(oauth.sign_in(client, clock, secret), app)
    answer = oauth.exchange(client, app, got["code"])
    assert answer.status_code == 200, answer.text
    return oauth.verify_id_token(client, app, answer.json()["id_token"], clock)


def redeem(client: TestClient, clock: FakeClock, app: App, response: httpx.Response) -> Any:
    """The claims of the ID token for the code in ``response`` (a redirect to the app)."""
    got = oauth.at_app(response, app)
    assert got["state"] == app.state and "error" not in got, got
    answer = oauth.exchange(client, app, got["code"])
    assert answer.status_code == 200, answer.text
    return oauth.verify_id_token(client, app, answer.json()["id_token"], clock)


def ask(client: TestClient, app: App, **extra: str | None) -> httpx.Response:
    return client.get("/oauth2/authorize", params=app.params(**extra), follow_redirects=False)


def test_oidcc_prompt_login(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    first = first_sign_in(client, clock, app, secret)
    clock.advance(seconds=5)
    again = ask(client, app, prompt="login")
    assert again.status_code == 303 and helpers.location(again) == "/signin?login=1"
    page = oauth.follow(client, again)
    assert page.status_code == 200 and page.request.url.path == "/signin"
    assert 'name="password"' in page.text  # shown although the browser is signed in
    # The waiting request is not answered from the old session
    resumed = client.get("/oauth2/resume", follow_redirects=False)
    assert helpers.location(resumed) == "/signin?login=1"
    second = redeem(client, clock, app, oauth.sign_in(client, clock, secret))
    assert second["sub"] == first["sub"]
    assert second["auth_time"] >= first["auth_time"] + 35
    assert second["acr"] == "urn:portvakt:acr:mfa"


def test_prompt_login_from_a_signed_out_browser_answers_after_the_sign_in(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    """The sign-in made for the waiting request is the fresh one it asked for (it used to be
    asked for again and again)."""
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        client.cookies.clear()
        assert oauth.authorize(client, app, **extra).request.url.path == "/signin"
        clock.advance(seconds=1)
        claims = redeem(client, clock, app, oauth.sign_in(client, clock, secret))
        assert claims["auth_time"] == int(clock.now().timestamp())


def test_oidcc_prompt_none_not_logged_in(client: TestClient, app: App, alice: UserRef) -> None:
    response = ask(client, app, prompt="none")
    helpers.app_error(response, app, "login_required")
    assert helpers.AUTHZ not in response.cookies  # nothing parked for a sign-in


def test_oidcc_prompt_none_logged_in(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    first = first_sign_in(client, clock, app, secret)
    clock.advance(seconds=60)
    second = redeem(client, clock, app, ask(client, app, prompt="none"))
    assert second["sub"] == first["sub"] and second["auth_time"] == first["auth_time"]
    assert second["sid"] == first["sid"]


def test_prompt_none_with_another_prompt_is_invalid(
    client: TestClient, runtime: Runtime, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    helpers.app_error(ask(client, app, prompt="none login"), app, "invalid_request")
    helpers.app_error(ask(client, app, prompt="bogus"), app, "invalid_request")


def test_oidcc_max_age_1(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    first = first_sign_in(client, clock, app, secret)
    clock.advance(seconds=2)
    again = ask(client, app, max_age="1")
    assert again.status_code == 303 and helpers.location(again) == "/signin?login=1"
    assert oauth.follow(client, again).request.url.path == "/signin"
    second = redeem(client, clock, app, oauth.sign_in(client, clock, secret))
    assert second["auth_time"] > first["auth_time"] + 2
    assert second["sub"] == first["sub"]


def test_oidcc_max_age_10000(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    first = first_sign_in(client, clock, app, secret)
    clock.advance(seconds=120)
    second = redeem(client, clock, app, ask(client, app, max_age="10000"))
    assert second["auth_time"] == first["auth_time"]


def test_max_age_that_is_not_a_number_is_invalid(
    client: TestClient, runtime: Runtime, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    for value in ("-1", "1.5", "ten", "12345678901"):
        helpers.app_error(ask(client, app, max_age=value), app, "invalid_request")


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(
    client: TestClient, clock: FakeClock, runtime: Runtime, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    claims = redeem(client, clock, app, ask(client, app, extra="foobar", resource="x"))
    assert claims["preferred_username"] == "alice"


def test_oidcc_id_token_hint(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    assert oauth.authorize(client, app).request.url.path == "/signin"
    got = oauth.at_app(oauth.sign_in(client, clock, secret), app)
    id_token = oauth.exchange(client, app, got["code"]).json()["id_token"]
    first = oauth.verify_id_token(client, app, id_token, clock)
    clock.advance(seconds=30)
    second = redeem(client, clock, app, ask(client, app, prompt="none", id_token_hint=id_token))
    assert second["sub"] == first["sub"]


def test_oidcc_login_hint(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    page = oauth.authorize(client, app, login_hint="alice")
    assert page.request.url.path == "/signin" and page.request.url.params["login_hint"] == "alice"
    assert 'name="username"' in page.text and 'value="alice"' in page.text
    redeem(client, clock, app, oauth.sign_in(client, clock, secret))
    client.cookies.delete(helpers.SESSION)
    hostile = oauth.authorize(client, app, login_hint='"><script>x</script>')
    assert "<script>x" not in hostile.text and "&#34;&gt;&lt;script&gt;" in hostile.text


def test_oidcc_ui_locales(
    client: TestClient, clock: FakeClock, runtime: Runtime, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    redeem(client, clock, app, ask(client, app, ui_locales="nb en"))


def test_oidcc_claims_locales(
    client: TestClient, clock: FakeClock, runtime: Runtime, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    redeem(client, clock, app, ask(client, app, claims_locales="se nb"))


def test_oidcc_ensure_request_with_acr_values_succeeds(
    client: TestClient, clock: FakeClock, runtime: Runtime, app: App, alice: UserRef
) -> None:
    """The suite sends ``acr_values=1 2``: values Portvakt does not know are ignored (OpenID
    Connect Core 3.1.2.1); the ID token says what the sign-in really was."""
    helpers.open_session(runtime, client, alice)
    claims = redeem(client, clock, app, ask(client, app, acr_values="1 2"))
    assert claims["acr"] == "urn:portvakt:acr:mfa"
    weaker = redeem(client, clock, app, ask(client, app, acr_values="urn:portvakt:acr:pwd"))
    assert weaker["acr"] == "urn:portvakt:acr:mfa"
