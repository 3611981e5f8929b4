"""Crafted parameters get the answer each endpoint already gives bad input, never a 500
(issue 9, item 5), on SQLite and PostgreSQL: an over-long ``client_id`` or ``redirect_uri``
at authorization is shown as a page (the redirect URI is not verified, so nothing is
redirected: OIDC-01), NUL anywhere is a 400 (PostgreSQL cannot store it: it failed there
only), and ``max_age`` of Unicode digits goes back to the app as ``invalid_request``."""

from __future__ import annotations

import base64
import logging

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.web.nul import DESCRIPTION
from tests.integration.oidc import helpers
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

LONG_CLIENT_ID = "c" * 2049
LONG_REDIRECT = "https://portal.example.org/callback?" + "x" * 2048


def _no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def _authorize(client: TestClient, method: str, params: dict[str, str]) -> httpx.Response:
    if method == "GET":
        return client.get("/oauth2/authorize", params=params, follow_redirects=False)
    return client.post("/oauth2/authorize", data=params, follow_redirects=False)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "crafted", [{"client_id": LONG_CLIENT_ID}, {"redirect_uri": LONG_REDIRECT}]
)
def test_authorize_shows_a_page_for_an_over_long_client_id_or_redirect_uri(
    client: TestClient,
    app: App,
    caplog: pytest.LogCaptureFixture,
    method: str,
    crafted: dict[str, str],
) -> None:
    """OIDC-01: neither can be trusted, so the person sees the error; nothing is redirected."""
    answer = _authorize(client, method, app.params(**crafted))
    helpers.assert_error_page(answer, "invalid_request")
    _no_errors(caplog)


NUL_CASES = [
    ("GET", "/oauth2/authorize", "client_id"),
    ("POST", "/oauth2/authorize", "client_id"),
    ("GET", "/oauth2/authorize", "nonce"),
    ("GET", "/oauth2/authorize", "login_hint"),
    ("GET", "/oauth2/logout", "client_id"),
    ("POST", "/oauth2/logout", "client_id"),
    ("POST", "/oauth2/token", "client_id"),
    ("POST", "/oauth2/token", "code"),
    ("POST", "/oauth2/introspect", "client_id"),
    ("POST", "/oauth2/revoke", "client_id"),
    ("POST", "/oauth2/revoke", "token"),
]


@pytest.mark.parametrize("case", NUL_CASES, ids="-".join)
def test_nul_in_a_parameter_gets_400(
    client: TestClient,
    app: App,
    alice: UserRef,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    case: tuple[str, str, str],
) -> None:
    """A signed-in browser, so an authorization would store the ``nonce`` with its code. The
    machine endpoints answer an OAuth ``invalid_request``; the pages an error page."""
    method, path, name = case
    helpers.open_session(runtime, client, alice)
    params = {
        **app.params(),
        "grant_type": "authorization_code",
        "code": "c" * 43,
        "code_verifier": app.verifier,
        "client_secret": app.secret or "",
        "token": "t" * 43,
        "post_logout_redirect_uri": "https://portal.example.org/",
        name: "ab\x00cd",
    }
    if method == "GET":
        answer = client.get(path, params=params, follow_redirects=False)
    else:
        answer = client.post(path, data=params, follow_redirects=False)
    if path in {"/oauth2/authorize", "/oauth2/logout"}:
        helpers.assert_error_page(answer, "nul")
    else:
        body = helpers.token_error(answer, "invalid_request")
        assert body["error_description"] == DESCRIPTION
    _no_errors(caplog)


@pytest.mark.parametrize("path", ["/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"])
@pytest.mark.parametrize("credentials", ["%00:secret", "client%00:secret", "client:sec%00ret"])
def test_nul_in_basic_client_credentials_is_invalid_client(
    client: TestClient,
    app: App,
    caplog: pytest.LogCaptureFixture,
    path: str,
    credentials: str,
) -> None:
    """``client_secret_basic`` percent-decodes its parts (RFC 6749 2.3.1): NUL can arrive in
    a header, which the edge does not read; the client is unknown, as for any bad id."""
    basic = {"authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    answer = client.post(
        path, data={"grant_type": "client_credentials", "token": "t"}, headers=basic
    )
    helpers.token_error(answer, "invalid_client", status=401)
    _no_errors(caplog)


@pytest.mark.parametrize("max_age", ["²", "٣٠٠", "1" * 11, "-1"])
def test_max_age_that_is_not_ascii_digits_goes_back_as_invalid_request(
    client: TestClient, app: App, caplog: pytest.LogCaptureFixture, max_age: str
) -> None:
    """``"²".isdigit()`` is true and ``int("²")`` fails: only ASCII digits are a number."""
    answer = _authorize(client, "GET", app.params(max_age=max_age))
    helpers.app_error(answer, app, "invalid_request")
    _no_errors(caplog)
