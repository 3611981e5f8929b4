"""``response_mode=form_post`` (OAuth 2.0 Form Post Response Mode): the code and state, or the
error, reach the app as the fields of a form the browser posts to its redirect URI. The page
is never cached, sends itself with a static script (the CSP has no inline scripts), shows a
button without JavaScript, and its CSP ``form-action`` names the app's origin. ``query`` stays
the default; ``fragment`` is refused (no implicit flows)."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx2 as httpx
from fastapi.testclient import TestClient

from portvakt.app import Runtime
from portvakt.domain import UserRef
from tests.conftest import FakeClock, csrf_of
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret

PORTAL = "https://portal.example.org"


class Forms(HTMLParser):
    """The forms of a page: action, method and hidden fields (as a browser would post them)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self.scripts: list[str | None] = []
        self.buttons = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append({"action": found.get("action"), "method": found.get("method")})
            self.forms[-1]["fields"] = {}
        elif tag == "input" and found.get("type") == "hidden" and self.forms:
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            fields[found.get("name")] = found.get("value")
        elif tag == "script":
            self.scripts.append(found.get("src"))
        elif tag == "button":
            self.buttons += 1


def posted(response: httpx.Response, app: App) -> dict[str, str]:
    """The fields the form-post page sends to ``app``'s redirect URI (asserting the page is
    one: one POST form to that URI, sent by the static script, with a button, never cached,
    and a CSP that lets the form leave only for the app's origin)."""
    assert response.status_code == 200, (response.status_code, response.headers, response.text)
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert f"form-action 'self' {PORTAL};" in csp and "script-src 'self';" in csp
    page = Forms(response.text)
    assert len(page.forms) == 1, page.forms
    form = page.forms[0]
    assert form["method"] == "post" and form["action"] == app.redirect_uri
    assert page.scripts == ["/static/form_post.js"] and page.buttons == 1
    fields = form["fields"]
    assert isinstance(fields, dict)
    return fields


def ask(client: TestClient, app: App, **extra: str | None) -> httpx.Response:
    return client.get("/oauth2/authorize", params=app.params(**extra), follow_redirects=False)


def test_signed_in_browser_gets_a_page_that_posts_the_code(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    fields = posted(ask(client, app, response_mode="form_post"), app)
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == app.state and fields["iss"] == oauth.ISSUER
    answer = oauth.exchange(client, app, fields["code"])
    assert answer.status_code == 200, answer.text
    claims = oauth.verify_id_token(client, app, answer.json()["id_token"], clock)
    assert claims["nonce"] == app.nonce


def test_sign_in_pages_end_in_the_form_post_page(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    page = oauth.authorize(client, app, response_mode="form_post", ui_locales="nb")
    assert page.request.url.path == "/signin"
    done = oauth.sign_in(client, clock, secret)
    assert done.request.url.path == "/oauth2/resume"
    fields = posted(done, app)
    assert '<html lang="nb">' in done.text and "Fortsett til Staff portal" in done.text
    assert oauth.exchange(client, app, fields["code"]).status_code == 200
    assert helpers.AUTHZ not in client.cookies  # the request is answered


def test_values_are_escaped_in_the_page(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    uri = "https://portal.example.org/cb?tenant=a&x=%22"
    app = register(runtime, "Escaped", redirect_uris=(uri,))
    app.state = "s\"><script>alert(1)</script>&amp;'"
    helpers.open_session(runtime, client, alice)
    response = ask(client, app, response_mode="form_post")
    assert "<script>alert" not in response.text
    assert 'action="https://portal.example.org/cb?tenant=a&amp;x=%22"' in response.text
    assert posted(response, app)["state"] == app.state  # the browser posts it unchanged


def test_errors_are_posted_too(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    no_pkce = ask(client, app, response_mode="form_post", code_challenge=None)
    fields = posted(no_pkce, app)
    assert fields["error"] == "invalid_request" and "PKCE" in fields["error_description"]
    assert fields["state"] == app.state and fields["iss"] == oauth.ISSUER
    assert "code" not in fields
    not_signed_in = posted(ask(client, app, response_mode="form_post", prompt="none"), app)
    assert not_signed_in["error"] == "login_required"
    bad_scope = posted(ask(client, app, response_mode="form_post", scope="profile"), app)
    assert bad_scope["error"] == "invalid_scope"


def test_cancel_posts_access_denied(client: TestClient, app: App, alice: UserRef) -> None:
    page = oauth.authorize(client, app, response_mode="form_post")
    cancelled = client.post(
        "/oauth2/cancel", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    fields = posted(cancelled, app)
    assert fields["error"] == "access_denied" and fields["state"] == app.state


def test_query_stays_the_default(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    for mode in (None, "query"):
        assert "code" in oauth.at_app(ask(client, app, response_mode=mode), app)


def test_fragment_and_unknown_modes_are_refused_in_the_query(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    got = helpers.app_error(ask(client, app, response_mode="fragment"), app, "invalid_request")
    assert "fragment" in got["error_description"]
    for mode in ("form_post.jwt", "FORM_POST", "web_message"):
        helpers.app_error(ask(client, app, response_mode=mode), app, "invalid_request")
    twice: list[tuple[str, str | int | float | bool | None]] = [*app.params().items()]
    twice += [("response_mode", "form_post"), ("response_mode", "form_post")]
    response = client.get("/oauth2/authorize", params=twice, follow_redirects=False)
    helpers.app_error(response, app, "invalid_request")


def test_form_post_to_a_private_use_scheme_is_refused(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    app = register(runtime, "Desktop", public=True, redirect_uris=("com.example.app:/cb",))
    helpers.open_session(runtime, client, alice)
    response = ask(client, app, response_mode="form_post")
    assert response.status_code == 303
    got = oauth.at_app(response, app)
    assert got["error"] == "invalid_request" and "http" in got["error_description"]


def test_bad_redirect_uri_is_never_posted_to(client: TestClient, app: App) -> None:
    evil = "https://evil.example.com/callback"
    response = ask(client, app, response_mode="form_post", redirect_uri=evil)
    helpers.assert_error_page(response, "redirect_uri_mismatch")
    assert "evil.example.com" not in response.headers["content-security-policy"]


def test_discovery_lists_query_and_form_post(client: TestClient) -> None:
    body = client.get("/.well-known/openid-configuration").json()
    assert body["response_modes_supported"] == ["query", "form_post"]


def test_the_script_is_served_under_the_csp(client: TestClient) -> None:
    script = client.get("/static/form_post.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "form-post" in script.text and ".submit" in script.text
