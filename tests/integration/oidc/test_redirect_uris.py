"""Redirect URIs are compared as exact strings (OAuth 2.0 Security BCP 4.1.1), with one
exception: a public app's loopback redirect may use any port (RFC 8252 §7.3). Anything that does
not match stops at Portvakt with an error page: no Location header, nothing parked, no code.

The negative table follows Keycloak's ``OAuthRedirectUriTest`` (SECURITY.md §6, OIDC-01). It only
reads, so its cases share one runtime per database (``shared``) instead of building one each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime, build
from portvakt.core.oidc import clients, redirects
from portvakt.errors import Invalid
from portvakt.settings import Settings
from portvakt.web.app import create_app
from tests.conftest import FakeClock
from tests.integration.oidc import helpers
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import ISSUER, App

CALLBACK = "https://portal.example.org/callback"
WITH_QUERY = "https://portal.example.org/cb?tenant=a"
LOOPBACK = "http://127.0.0.1:8123/cb"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Env:
    runtime: Runtime
    client: TestClient
    portal: App  # confidential: CALLBACK and WITH_QUERY
    local: App  # confidential: http://localhost:8080/cb
    desktop: App  # confidential: LOOPBACK
    cli: App  # public: LOOPBACK
    session: str  # alice's session cookie

    def ask(self, app: App, redirect_uri: str | None) -> httpx.Response:
        self.client.cookies.clear()
        self.client.cookies.set(helpers.SESSION, self.session)
        params = app.params(redirect_uri=redirect_uri)
        if redirect_uri is None:
            params.pop("redirect_uri")
        return self.client.get("/oauth2/authorize", params=params, follow_redirects=False)


@pytest.fixture(scope="module")
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Env]]:
    """One runtime per database for this module, built when a test first needs it."""
    built: dict[str, Env] = {}
    with ExitStack() as stack:

        def get(backend: str) -> Env:
            if backend not in built:
                url = helpers.private_database(request, backend)
                data = tmp_path_factory.mktemp("data")
                rt = build(
                    Settings(data_dir=Path(data), database_url=url, public_url=ISSUER),
                    clock=FakeClock(),
                    upgrade=False,
                )
                stack.callback(rt.core.store.dispose)
                client = stack.enter_context(TestClient(create_app(rt)))
                helpers.open_session(rt, client, helpers.add_person(rt, "alice"))
                built[backend] = Env(
                    runtime=rt,
                    client=client,
                    portal=register(rt, "Portal", redirect_uris=(CALLBACK, WITH_QUERY)),
                    local=register(rt, "Local", redirect_uris=("http://localhost:8080/cb",)),
                    desktop=register(rt, "Desktop", redirect_uris=(LOOPBACK,)),
                    cli=register(rt, "CLI", public=True, redirect_uris=(LOOPBACK,)),
                    session=client.cookies[helpers.SESSION],
                )
            return built[backend]

        yield get


MISMATCHES = {
    "scheme case": "HTTPS://portal.example.org/callback",
    "host case": "https://PORTAL.example.org/callback",
    "path case": "https://portal.example.org/Callback",
    "dot segment": "https://portal.example.org/callback/../callback",
    "dot segment before": "https://portal.example.org/x/../callback",
    "encoded dot segment": "https://portal.example.org/%2E%2E/callback",
    "encoded dot segment lower case": "https://portal.example.org/callback/%2e%2e/callback",
    "double encoded dot segment": "https://portal.example.org/%252E%252E/callback",
    "encoded letter": "https://portal.example.org/%63allback",
    "extra path segment": "https://portal.example.org/callback/XYZ",
    "trailing slash": "https://portal.example.org/callback/",
    "longer path": "https://portal.example.org/callbackXYZ",
    "shorter path": "https://portal.example.org/callbac",
    "extra query": "https://portal.example.org/callback?x=1",
    "empty query": "https://portal.example.org/callback?",
    "fragment": "https://portal.example.org/callback#x",
    "empty fragment": "https://portal.example.org/callback#",
    "registered query missing": "https://portal.example.org/cb",
    "other query value": "https://portal.example.org/cb?tenant=b",
    "query value case": "https://portal.example.org/cb?tenant=A",
    "query parameter added": "https://portal.example.org/cb?tenant=a&x=1",
    "query parameter before": "https://portal.example.org/cb?x=1&tenant=a",
    "query parameter repeated": "https://portal.example.org/cb?tenant=a&tenant=b",
    "query value encoded": "https://portal.example.org/cb?tenant=%61",
    "query and fragment": "https://portal.example.org/cb?tenant=a#x",
    "host as a prefix": "https://portal.example.org.evil.com/callback",
    "host in the path": "https://evil.com/portal.example.org/callback",
    "similar host": "https://portal-example.org/callback",
    "parent domain": "https://example.org/callback",
    "subdomain": "https://x.portal.example.org/callback",
    "user info to another host": "https://portal.example.org@evil.com/callback",
    "user info added": "https://evil.com@portal.example.org/callback",
    "backslash": "https://portal.example.org\\@evil.com/callback",
    "other port": "https://portal.example.org:8443/callback",
    "default port written out": "https://portal.example.org:443/callback",
    "http instead of https": "http://portal.example.org/callback",
    "trailing dot in host": "https://portal.example.org./callback",
    "scheme relative": "//portal.example.org/callback",
    "relative path": "/callback",
    "leading space": " https://portal.example.org/callback",
    "trailing space": "https://portal.example.org/callback ",
    "javascript": "javascript:alert(1)//https://portal.example.org/callback",
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("given", MISMATCHES.values(), ids=MISMATCHES.keys())
def test_unregistered_redirect_uri_gets_an_error_page(
    shared: Callable[[str], Env], backend: str, given: str
) -> None:
    env = shared(backend)
    response = env.ask(env.portal, given)
    helpers.assert_error_page(response, "redirect_uri_mismatch")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "given",
    ["http://localhosts:8080/cb", "http://localhost:8081/cb", "http://127.0.0.1:8080/cb"],
)
def test_localhost_is_compared_exactly_for_a_confidential_client(
    shared: Callable[[str], Env], backend: str, given: str
) -> None:
    env = shared(backend)
    helpers.assert_error_page(env.ask(env.local, given), "redirect_uri_mismatch")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("registered", [CALLBACK, WITH_QUERY])
def test_registered_redirect_uri_gets_the_code(
    shared: Callable[[str], Env], backend: str, registered: str
) -> None:
    """The control for the table: the same signed-in browser is sent back at once."""
    env = shared(backend)
    response = env.ask(env.portal, registered)
    location = response.headers["location"]
    assert response.status_code == 303
    separator = "&" if "?" in registered else "?"
    assert location.startswith(registered + separator + "code="), location


def _page_errors(env: Env) -> dict[str, tuple[list[tuple[str, str]], str]]:
    base = [
        (k, v) for k, v in env.portal.params().items() if k not in {"client_id", "redirect_uri"}
    ]
    cid = ("client_id", env.portal.client_id)
    uri = ("redirect_uri", CALLBACK)
    return {
        "redirect_uri missing": ([*base, cid], "redirect_uri_missing"),
        "redirect_uri empty": ([*base, cid, ("redirect_uri", "")], "redirect_uri_missing"),
        "redirect_uri repeated": ([*base, cid, uri, uri], "invalid_request"),
        "redirect_uri repeated, second other": (
            [*base, cid, uri, ("redirect_uri", "https://evil.com/")],
            "invalid_request",
        ),
        "client_id repeated": ([*base, cid, cid, uri], "invalid_request"),
        "client_id missing": ([*base, uri], "unknown_client"),
        "client_id unknown": ([*base, ("client_id", "nobody"), uri], "unknown_client"),
        "client_id too long": ([*base, ("client_id", "x" * 65), uri], "unknown_client"),
        "client_id of another app": (
            [*base, ("client_id", env.cli.client_id), uri],
            "redirect_uri_mismatch",
        ),
    }


PAGE_ERROR_CASES = [
    "redirect_uri missing",
    "redirect_uri empty",
    "redirect_uri repeated",
    "redirect_uri repeated, second other",
    "client_id repeated",
    "client_id missing",
    "client_id unknown",
    "client_id too long",
    "client_id of another app",
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", PAGE_ERROR_CASES)
def test_untrusted_client_or_redirect_uri_gets_an_error_page(
    shared: Callable[[str], Env], backend: str, case: str
) -> None:
    env = shared(backend)
    params, code = _page_errors(env)[case]
    env.client.cookies.clear()
    env.client.cookies.set(helpers.SESSION, env.session)
    query = urlencode(params)
    response = env.client.get("/oauth2/authorize", params=query, follow_redirects=False)
    helpers.assert_error_page(response, code)
    assert helpers.AUTHZ not in response.cookies


# -- loopback redirects (RFC 8252) -------------------------------------------------------------

LOOPBACK_ALLOWED = [
    LOOPBACK,
    "http://127.0.0.1:49152/cb",
    "http://127.0.0.1:1/cb",
    "http://127.0.0.1/cb",
]
LOOPBACK_REFUSED = {
    "other path": "http://127.0.0.1:9999/other",
    "extra segment": "http://127.0.0.1:9999/cb/x",
    "path case": "http://127.0.0.1:9999/CB",
    "trailing slash": "http://127.0.0.1:9999/cb/",
    "query added": "http://127.0.0.1:9999/cb?x=1",
    "fragment": "http://127.0.0.1:9999/cb#x",
    "empty fragment": "http://127.0.0.1:9999/cb#",
    "empty query": "http://127.0.0.1:9999/cb?",
    "empty port": "http://127.0.0.1:/cb",
    "other loopback address": "http://127.0.0.2:9999/cb",
    "localhost instead of the IP": "http://localhost:9999/cb",
    "IPv6 instead of IPv4": "http://[::1]:9999/cb",
    "https": "https://127.0.0.1:9999/cb",
    "scheme case": "HTTP://127.0.0.1:9999/cb",
    "user info before": "http://evil.com@127.0.0.1:9999/cb",
    "user info after": "http://127.0.0.1:9999@evil.com/cb",
    "host suffix": "http://127.0.0.1.evil.com:9999/cb",
    "port not a number": "http://127.0.0.1:abc/cb",
    "port out of range": "http://127.0.0.1:99999/cb",
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("given", LOOPBACK_ALLOWED)
def test_public_client_may_use_any_loopback_port(
    shared: Callable[[str], Env], backend: str, given: str
) -> None:
    env = shared(backend)
    response = env.ask(env.cli, given)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(given + "?code="), location


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("given", LOOPBACK_REFUSED.values(), ids=LOOPBACK_REFUSED.keys())
def test_public_client_loopback_differs_only_in_port(
    shared: Callable[[str], Env], backend: str, given: str
) -> None:
    env = shared(backend)
    helpers.assert_error_page(env.ask(env.cli, given), "redirect_uri_mismatch")


@pytest.mark.parametrize("backend", BACKENDS)
def test_confidential_client_loopback_port_is_exact(
    shared: Callable[[str], Env], backend: str
) -> None:
    env = shared(backend)
    helpers.assert_error_page(
        env.ask(env.desktop, "http://127.0.0.1:9999/cb"),
        "redirect_uri_mismatch",
    )
    assert env.ask(env.desktop, LOOPBACK).status_code == 303


# -- what may be registered ------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        CALLBACK,
        WITH_QUERY,
        LOOPBACK,
        "http://localhost/cb",
        "http://[::1]:8080/cb",
        "com.example.app:/oauth2redirect",
    ],
)
def test_check_redirect_uri_accepts(uri: str) -> None:
    assert redirects.check_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("http://portal.example.org/cb", "redirect_uri_not_https"),
        ("http://localhost.evil.com/cb", "redirect_uri_not_https"),
        ("http://127.0.0.1.nip.io/cb", "redirect_uri_not_https"),
        ("https://portal.example.org/cb#x", "invalid_redirect_uri"),
        ("https://portal.example.org/cb#", "invalid_redirect_uri"),
        ("https://*.example.org/cb", "invalid_redirect_uri"),
        ("https://portal.example.org/*", "invalid_redirect_uri"),
        ("javascript:alert(1)", "invalid_redirect_uri"),
        ("JavaScript:alert(1)", "invalid_redirect_uri"),
        ("data:text/html,hi", "invalid_redirect_uri"),
        ("file:///etc/passwd", "invalid_redirect_uri"),
        ("vbscript:msgbox", "invalid_redirect_uri"),
        ("myapp:/cb", "invalid_redirect_uri"),
        ("https://user@portal.example.org/cb", "invalid_redirect_uri"),
        ("/callback", "invalid_redirect_uri"),
        ("", "invalid_redirect_uri"),
        ("https:///cb", "invalid_redirect_uri"),
        ("https://portal.example.org:99999/cb", "invalid_redirect_uri"),
        (" https://portal.example.org/cb", "invalid_redirect_uri"),
        ("https://portal.example.org/c b", "invalid_redirect_uri"),
        ("https://portal.example.org/\ncb", "invalid_redirect_uri"),
        ("https://portal.example.org/" + "a" * 2048, "invalid_redirect_uri"),
    ],
)
def test_check_redirect_uri_refuses(uri: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        redirects.check_redirect_uri(uri)
    assert refused.value.code == code


@pytest.mark.parametrize("backend", BACKENDS)
def test_registration_refuses_a_bad_redirect_uri(
    shared: Callable[[str], Env], backend: str
) -> None:
    rt = shared(backend).runtime
    with pytest.raises(Invalid) as refused:
        register(rt, "Bad", redirect_uris=("http://portal.example.org/cb",))
    assert refused.value.code == "redirect_uri_not_https"
    with pytest.raises(Invalid) as refused:
        register(rt, "Bad", post_logout_uris=("javascript:alert(1)",))
    assert refused.value.code == "invalid_redirect_uri"
    assert [c.name for c in clients.listing(rt.core)] == ["CLI", "Desktop", "Local", "Portal"]
