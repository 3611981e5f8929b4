"""CSRF on every form, security headers, request-size limit (SES-03, issue item 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from portvakt.domain import UserRef
from portvakt.web.security import CSP
from tests.conftest import PASSWORD, FakeClock
from tests.integration.web import flows

FORMS = [
    "/signin",
    "/signin/factor",
    "/signin/activate/begin",
    "/signin/activate/confirm",
    "/signin/activate/skip",
    "/signin/cancel",
    "/signout",
    "/account/methods/1/rename",
    "/account/methods/1/default",
    "/account/methods/1/delete",
    "/account/methods/add",
    "/account/methods/1/confirm",
    "/account/verify",
    "/account/devices/1/revoke",
    "/account/signout-everywhere",
]


@pytest.mark.parametrize("path", FORMS)
def test_every_form_rejects_a_missing_or_wrong_csrf_token(client: TestClient, path: str) -> None:
    flows.token(client)
    missing = client.post(path, data={"username": "alice", "password": PASSWORD})
    wrong = client.post(
        path, data={"username": "alice", "password": PASSWORD, "csrf_token": "0" * 64}
    )
    assert missing.status_code == wrong.status_code == 403
    assert "This form has expired" in missing.text


def test_csrf_token_from_another_browser_is_refused(client: TestClient, alice: UserRef) -> None:
    other = TestClient(client.app)
    stolen = flows.token(other)
    flows.token(client)
    answer = client.post(
        "/signin", data={"username": "alice", "password": PASSWORD, "csrf_token": stolen}
    )
    assert answer.status_code == 403
    other.close()


def test_cross_origin_post_is_refused_even_with_a_token(client: TestClient, alice: UserRef) -> None:
    token = flows.token(client)
    answer = client.post(
        "/signin",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        headers={"origin": "https://evil.example"},
    )
    assert answer.status_code == 403


def test_browser_origin_null_is_accepted_only_from_the_same_site(
    client: TestClient, alice: UserRef
) -> None:
    """Browsers may send ``Origin: null``; the browser-set Sec-Fetch-Site decides."""
    data = {"username": "alice", "password": PASSWORD, "csrf_token": flows.token(client)}
    same = client.post(
        "/signin", data=data, headers={"origin": "null", "sec-fetch-site": "same-origin"}
    )
    assert same.status_code == 200 and same.url.path == "/signin/activate"
    cross = client.post(
        "/signin", data=data, headers={"origin": "null", "sec-fetch-site": "cross-site"}
    )
    assert cross.status_code == 403
    bare = client.post("/signin", data=data, headers={"origin": "null"})
    assert bare.status_code == 403


def test_same_origin_header_is_accepted(client: TestClient, alice: UserRef) -> None:
    data = {"username": "alice", "password": PASSWORD, "csrf_token": flows.token(client)}
    answer = client.post("/signin", data=data, headers={"origin": "http://testserver"})
    assert answer.url.path == "/signin/activate"


def test_security_headers_on_pages(client: TestClient) -> None:
    answer = client.get("/signin")
    assert answer.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    assert "unsafe-inline" not in CSP
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in answer.text and " style=" not in answer.text


def test_referrer_policy_is_what_the_security_docs_say(client: TestClient) -> None:
    """docs/security.md states the Referrer-Policy pages send; it must be the real one. It is
    ``same-origin``: nothing goes to other sites, and our own forms keep a real ``Origin``
    for the CSRF check (under ``no-referrer`` browsers send ``Origin: null``)."""
    docs = (Path(__file__).resolve().parents[3] / "docs" / "security.md").read_text()
    stated = re.findall(r"`Referrer-Policy: ([a-z-]+)`", docs)
    sent = {client.get(path).headers["referrer-policy"] for path in ("/signin", "/healthz")}
    assert stated == ["same-origin"] and sent == {"same-origin"}


def test_session_cookie_attributes(client: TestClient, alice: UserRef, clock: FakeClock) -> None:
    flows.token(client)
    answer = client.post(
        "/signin",
        data={"username": "alice", "password": PASSWORD, "csrf_token": flows.token(client)},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"]
    assert "pv_signin=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/" in cookie and "alice" not in cookie


def test_https_cookies_use_host_prefix_and_secure(runtime: object, alice: UserRef) -> None:
    from portvakt.web.app import create_app

    with TestClient(create_app(runtime), base_url="https://mfa.example") as secure:  # type: ignore[arg-type]
        answer = secure.post(
            "/signin",
            data={"username": "alice", "password": PASSWORD, "csrf_token": flows.token(secure)},
            follow_redirects=False,
        )
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-pv_signin=") and "Secure" in cookie
        assert "strict-transport-security" in answer.headers


def test_oversized_body_gets_413(client: TestClient) -> None:
    answer = client.post(
        "/signin",
        content=b"x" * (70 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_unknown_route_gets_a_404_page(client: TestClient) -> None:
    answer = client.get("/no/such/page")
    assert answer.status_code == 404 and "The page was not found." in answer.text
    assert "Traceback" not in answer.text


def test_wrong_http_method_gets_405(client: TestClient) -> None:
    answer = client.put("/signin")
    assert answer.status_code == 405
    assert "GET" in answer.headers["allow"]  # Starlette names the first matching route's
    api = client.get("/api/v1/validate")
    assert api.status_code == 405 and "POST" in api.headers["allow"]
    assert api.json()["error"] == "method_not_allowed"
