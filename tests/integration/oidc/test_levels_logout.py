"""What ``acr`` and ``amr`` claim is what this session's sign-in proved (a remembered device is
``pwd`` only), step-up when an app asks for more, half-finished and cancelled sign-ins, and
RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from portvakt.app import Runtime
from portvakt.core.oidc.levels import Level
from portvakt.domain import UserRef
from portvakt.web import cookies
from tests.conftest import FakeClock, csrf_of
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App
from tests.integration.web import flows

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret

PWD, MFA, PHR = (level.acr for level in Level)
VERIFY = "/account/verify?next=/oauth2/resume"
PORTAL = "https://portal.example.org/"


def ask(client: TestClient, app: App, **extra: str | None) -> httpx.Response:
    return client.get("/oauth2/authorize", params=app.params(**extra), follow_redirects=False)


def claims_from(client: TestClient, clock: FakeClock, app: App, response: httpx.Response) -> Any:
    got = oauth.at_app(response, app)
    assert "error" not in got, got
    answer = oauth.exchange(client, app, got["code"])
    assert answer.status_code == 200, answer.text
    return oauth.verify_id_token(client, app, answer.json()["id_token"], clock)


def remembered_browser(client: TestClient, clock: FakeClock, app: App, secret: str) -> Any:
    """alice signs in with "don't ask again", then comes back in a new browser session that
    holds only the device cookie, and signs in with her password alone."""
    assert oauth.authorize(client, app).request.url.path == "/signin"
    first = claims_from(client, clock, app, oauth.sign_in(client, clock, secret, remember=True))
    assert first["acr"] == MFA and first["amr"] == ["pwd", "otp", "mfa"]
    device = client.cookies[cookies.DEVICE]
    client.cookies.clear()
    client.cookies.set(cookies.DEVICE, device)
    clock.advance(minutes=10)
    assert oauth.authorize(client, app).request.url.path == "/signin"
    back = oauth.sign_in(client, clock, secret=None)  # no code is asked for
    return claims_from(client, clock, app, back)


def step_up(client: TestClient, clock: FakeClock, secret: str) -> httpx.Response:
    """On /account/verify, prove the authenticator app; the answer to the code (a redirect)."""
    page = client.get(VERIFY)
    assert page.status_code == 200, page.text
    clock.advance(seconds=30)
    data = {"code": flows.code_at(secret, clock), "kind": "totp", "csrf_token": csrf_of(page.text)}
    done = client.post(VERIFY, data=data, follow_redirects=False)
    assert helpers.location(done) == "/oauth2/resume", done.text
    return oauth.follow(client, done)


def test_remembered_device_sign_in_is_pwd_only(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    claims = remembered_browser(client, clock, app, secret)
    assert claims["acr"] == PWD and claims["amr"] == ["pwd"]


def test_acr_values_mfa_steps_up_a_remembered_device(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    weak = remembered_browser(client, clock, app, secret)
    response = ask(client, app, acr_values=MFA)
    assert response.status_code == 303 and helpers.location(response) == VERIFY
    claims = claims_from(client, clock, app, step_up(client, clock, secret))
    assert claims["acr"] == MFA and claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["auth_time"] == weak["auth_time"]  # the same session, stepped up
    again = claims_from(client, clock, app, ask(client, app, acr_values=MFA))
    assert again["acr"] == MFA  # the session stays stepped up


def test_client_requiring_mfa_steps_up_whatever_the_request_says(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    strict = register(runtime, "Payroll", required_level=Level.MFA)
    remembered_browser(client, clock, app, secret)
    for acr_values in (None, PWD):
        response = ask(client, strict, acr_values=acr_values)
        assert helpers.location(response) == VERIFY
    claims = claims_from(client, clock, strict, step_up(client, clock, secret))
    assert claims["acr"] == MFA and "otp" in claims["amr"]


def test_acr_values_phr_without_a_security_key_is_unmet(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    helpers.add_totp(runtime, clock, alice)
    helpers.open_session(runtime, client, alice)
    got = helpers.app_error(
        ask(client, app, acr_values=PHR), app, "unmet_authentication_requirements"
    )
    assert got["error_description"]
    helpers.app_error(ask(client, app, acr_values="phr"), app, "unmet_authentication_requirements")


def test_step_up_for_someone_without_a_method_is_unmet(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice, method=None)  # e.g. activation skipped
    helpers.app_error(ask(client, app, acr_values=MFA), app, "unmet_authentication_requirements")


def test_prompt_none_needing_a_step_up_is_interaction_required(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    helpers.add_totp(runtime, clock, alice)
    helpers.open_session(runtime, client, alice, method=None)
    response = ask(client, app, acr_values=MFA, prompt="none")
    helpers.app_error(response, app, "interaction_required")
    assert helpers.AUTHZ not in response.cookies


def test_half_finished_sign_in_never_answers(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    assert oauth.authorize(client, app).request.url.path == "/signin"
    password = flows.post_password(client)
    assert password.url.path == "/signin/factor"
    resumed = client.get("/oauth2/resume", follow_redirects=False)
    assert resumed.status_code == 303 and helpers.location(resumed) == "/signin"
    assert cookies.SESSION not in client.cookies
    # finishing the sign-in still answers the waiting request
    clock.advance(seconds=30)
    done = flows.submit_code(client, flows.code_at(secret, clock))
    assert done.history and done.history[-1].headers["location"].startswith(app.redirect_uri)


def test_cancel_at_sign_in_is_access_denied(client: TestClient, app: App, alice: UserRef) -> None:
    page = oauth.authorize(client, app)
    assert 'action="/oauth2/cancel"' in page.text
    forged = client.post("/oauth2/cancel", data={}, follow_redirects=False)
    assert forged.status_code == 403 and helpers.location(forged) is None
    cancelled = client.post(
        "/oauth2/cancel", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    got = helpers.app_error(cancelled, app, "access_denied")
    assert got["error_description"]
    assert helpers.AUTHZ not in client.cookies
    again = client.post(
        "/oauth2/cancel", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    helpers.assert_error_page(again, "authorization_expired")


def test_resume_without_a_waiting_request_is_an_error_page(
    client: TestClient, alice: UserRef
) -> None:
    helpers.assert_error_page(client.get("/oauth2/resume"), "authorization_expired")
    client.cookies.set(cookies.AUTHZ, "made-up")
    helpers.assert_error_page(client.get("/oauth2/resume"), "authorization_expired")


# -- logout -----------------------------------------------------------------------------------


def signed_in_with_tokens(runtime: Runtime, client: TestClient, app: App, alice: UserRef) -> Any:
    helpers.open_session(runtime, client, alice)
    return helpers.tokens_for(client, app)


def still_signed_in(client: TestClient) -> bool:
    return client.get("/account", follow_redirects=False).status_code == 200


def logout(client: TestClient, **params: str) -> httpx.Response:
    return client.get("/oauth2/logout", params=params, follow_redirects=False)


def test_logout_with_hint_ends_the_session_and_its_tokens(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    tokens = signed_in_with_tokens(runtime, client, app, alice)
    response = logout(
        client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=PORTAL, state="s-1"
    )
    assert response.status_code == 303
    assert helpers.location(response) == PORTAL + "?state=s-1"
    assert not still_signed_in(client)
    assert helpers.userinfo(client, tokens["access_token"]).status_code == 401
    helpers.token_error(helpers.refresh(client, app, tokens["refresh_token"]), "invalid_grant")


def test_logout_without_hint_asks_first(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    tokens = signed_in_with_tokens(runtime, client, app, alice)
    state = 's"<b>2'
    page = logout(client, client_id=app.client_id, post_logout_redirect_uri=PORTAL, state=state)
    assert page.status_code == 200 and 'action="/oauth2/logout/confirm"' in page.text
    assert 'value="s&#34;&lt;b&gt;2"' in page.text and "<b>2" not in page.text
    assert still_signed_in(client)
    assert helpers.refresh(client, app, tokens["refresh_token"]).status_code == 200
    fields = {"client_id": app.client_id, "post_logout_redirect_uri": PORTAL, "state": state}
    unconfirmed = client.post("/oauth2/logout/confirm", data=fields, follow_redirects=False)
    assert unconfirmed.status_code == 403 and still_signed_in(client)
    confirmed = client.post(
        "/oauth2/logout/confirm",
        data={**fields, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert helpers.location(confirmed) == PORTAL + "?state=s%22%3Cb%3E2"
    assert not still_signed_in(client)


def test_logout_with_a_hint_for_another_session_asks_first(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    old = signed_in_with_tokens(runtime, client, app, alice)
    helpers.open_session(runtime, client, alice)  # a new session in this browser
    page = logout(client, id_token_hint=old["id_token"])
    assert page.status_code == 200 and 'action="/oauth2/logout/confirm"' in page.text
    assert still_signed_in(client)


def test_logout_to_an_unregistered_uri_is_an_error_page(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    tokens = signed_in_with_tokens(runtime, client, app, alice)
    for uri in ("https://evil.example.com/", PORTAL + "x", "https://portal.example.org"):
        response = logout(client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri)
        helpers.assert_error_page(response, "post_logout_uri_mismatch")
    nobodys = logout(client, post_logout_redirect_uri="https://evil.example.com/")
    helpers.assert_error_page(nobodys, "post_logout_uri_mismatch")
    assert still_signed_in(client)


def test_logout_with_a_forged_hint_is_an_error_page(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    tokens = signed_in_with_tokens(runtime, client, app, alice)
    header, claims = helpers.jwt_parts(tokens["id_token"])
    head, _, signature = tokens["id_token"].split(".")
    tampered = f"{head}.{helpers.b64url(claims | {'sub': '999'})}.{signature}"
    foreign_key = ECKey.generate_key("P-256", private=True)
    foreign = jwt.encode({"alg": "ES256", "kid": header["kid"]}, claims, foreign_key)
    other_issuer = jwt.encode(
        {"alg": "ES256"}, claims | {"iss": "https://evil.example.com"}, foreign_key
    )
    for hint in ("garbage", "a.b.c", tampered, foreign, other_issuer, "x" * 9000):
        response = logout(client, id_token_hint=hint, post_logout_redirect_uri=PORTAL)
        if len(hint) > 8192:
            helpers.assert_error_page(response, "invalid_request")
        else:
            helpers.assert_error_page(response, "invalid_id_token_hint")
    assert still_signed_in(client)
    assert helpers.userinfo(client, tokens["access_token"]).status_code == 200


def test_logout_hint_of_another_client_is_refused(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    tokens = signed_in_with_tokens(runtime, client, app, alice)
    other = register(runtime, "Other app")
    response = logout(client, id_token_hint=tokens["id_token"], client_id=other.client_id)
    helpers.assert_error_page(response, "invalid_request")
    assert still_signed_in(client)


def test_logout_with_an_expired_hint_still_works(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    tokens = signed_in_with_tokens(runtime, client, app, alice)
    clock.advance(minutes=30)  # the ID token expired after 10 minutes; the session lives on
    response = logout(client, id_token_hint=tokens["id_token"])
    assert response.status_code == 200 and "action=" not in response.text  # signed out page
    assert not still_signed_in(client)


def test_logout_when_not_signed_in_goes_back_to_the_app(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    tokens = signed_in_with_tokens(runtime, client, app, alice)
    client.cookies.clear()
    response = logout(
        client, id_token_hint=tokens["id_token"], post_logout_redirect_uri=PORTAL, state="s"
    )
    assert response.status_code == 303 and helpers.location(response) == PORTAL + "?state=s"
    assert helpers.userinfo(client, tokens["access_token"]).status_code == 200  # not that session


def test_logout_ends_grants_of_earlier_sign_ins_in_this_browser(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    assert oauth.authorize(client, app).request.url.path == "/signin"
    first_code = oauth.at_app(oauth.sign_in(client, clock, secret), app)["code"]
    first = oauth.exchange(client, app, first_code).json()
    clock.advance(seconds=5)
    assert oauth.follow(client, ask(client, app, prompt="login")).request.url.path == "/signin"
    second_code = oauth.at_app(oauth.sign_in(client, clock, secret), app)["code"]
    second = oauth.exchange(client, app, second_code).json()
    assert logout(client, id_token_hint=second["id_token"]).status_code == 200
    assert not still_signed_in(client)
    helpers.token_error(helpers.refresh(client, app, second["refresh_token"]), "invalid_grant")
    helpers.token_error(helpers.refresh(client, app, first["refresh_token"]), "invalid_grant")
