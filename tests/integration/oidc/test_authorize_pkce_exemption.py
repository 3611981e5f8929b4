"""A confidential client registered ``allow_without_pkce`` (for apps such as Moodle's auth_oidc
that cannot send PKCE) may leave PKCE out, if it sends a ``nonce``. Off by default; ``plain``
stays refused for everyone; a public client can never be exempt."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from portvakt.app import Runtime
from portvakt.core.oidc import clients
from portvakt.domain import UserRef
from portvakt.errors import Invalid
from portvakt.store.models import AuditEvent, OidcClient, OidcGrant
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App
from tests.integration.oidc.test_authorize_form_post import posted

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret

NO_PKCE: dict[str, str | None] = {"code_challenge": None, "code_challenge_method": None}


@pytest.fixture
def moodle(runtime: Runtime) -> App:
    return register(runtime, "Moodle", allow_without_pkce=True)


def ask(client: TestClient, app: App, **extra: str | None) -> httpx.Response:
    return client.get("/oauth2/authorize", params=app.params(**extra), follow_redirects=False)


def stored_grant(runtime: Runtime) -> OidcGrant:
    with runtime.core.store.read() as s:
        grant = s.scalars(select(OidcGrant).order_by(OidcGrant.id.desc())).first()
        assert grant is not None
        s.expunge(grant)
        return grant


def exchange_without_verifier(client: TestClient, app: App, code: str, **extra: str) -> Any:
    """What Moodle sends: client_secret_post, no code_verifier."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "client_id": app.client_id,
        "client_secret": app.secret or "",
        **extra,
    }
    return client.post("/oauth2/token", data=data)


def test_exempt_client_without_pkce_gets_a_code_bound_to_its_nonce(
    runtime: Runtime, client: TestClient, moodle: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    got = oauth.at_app(ask(client, moodle, **NO_PKCE), moodle)
    assert "error" not in got and got["state"] == moodle.state and got["code"]
    grant = stored_grant(runtime)
    assert grant.code_challenge is None and grant.nonce == moodle.nonce
    with runtime.core.store.read() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.event == "oidc.authorized"
        assert event.details == {
            "client": "Moodle",
            "acr": "urn:portvakt:acr:mfa",
            "without_pkce": True,
        }


def test_exempt_client_without_pkce_must_send_a_nonce(
    runtime: Runtime, client: TestClient, moodle: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    got = helpers.app_error(ask(client, moodle, nonce=None, **NO_PKCE), moodle, "invalid_request")
    assert "nonce" in got["error_description"]


def test_exempt_client_sending_pkce_is_held_to_it(
    runtime: Runtime, client: TestClient, moodle: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    code = helpers.code_for(client, moodle, nonce=None)  # with PKCE, no nonce needed
    assert stored_grant(runtime).code_challenge == moodle.challenge
    helpers.token_error(exchange_without_verifier(client, moodle, code), "invalid_request")
    helpers.token_error(
        oauth.exchange(client, moodle, code, code_verifier="x" * 43), "invalid_grant"
    )
    assert oauth.exchange(client, moodle, helpers.code_for(client, moodle)).status_code == 200


def test_plain_pkce_stays_refused_for_an_exempt_client(
    runtime: Runtime, client: TestClient, moodle: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    plain = ask(client, moodle, code_challenge=moodle.verifier, code_challenge_method="plain")
    helpers.app_error(plain, moodle, "invalid_request")
    method_only = ask(client, moodle, code_challenge=None, code_challenge_method="plain")
    helpers.app_error(method_only, moodle, "invalid_request")
    bad = ask(client, moodle, code_challenge="short", code_challenge_method="S256")
    helpers.app_error(bad, moodle, "invalid_request")


def test_without_the_exemption_pkce_is_required(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    """The default: a confidential client sending a nonce but no PKCE is refused."""
    helpers.open_session(runtime, client, alice)
    got = helpers.app_error(ask(client, app, **NO_PKCE), app, "invalid_request")
    assert "PKCE is required" in got["error_description"]


def test_a_public_client_cannot_be_exempt(runtime: Runtime) -> None:
    with pytest.raises(Invalid) as refused:
        register(
            runtime,
            "Desktop",
            public=True,
            allow_without_pkce=True,
            redirect_uris=("http://127.0.0.1/cb",),
        )
    assert refused.value.code == "public_client_needs_pkce"
    assert [c.name for c in clients.listing(runtime.core)] == []


def test_a_public_client_marked_exempt_in_the_database_still_needs_pkce(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    desktop = register(runtime, "Desktop", public=True, redirect_uris=("http://127.0.0.1/cb",))
    with runtime.core.store.write() as s:
        s.execute(update(OidcClient).values(allow_without_pkce=True))
    assert clients.find(runtime.core, "Desktop").allow_without_pkce
    helpers.open_session(runtime, client, alice)
    helpers.app_error(ask(client, desktop, **NO_PKCE), desktop, "invalid_request")


def test_a_code_issued_without_pkce_refuses_a_code_verifier(
    runtime: Runtime, client: TestClient, moodle: App, alice: UserRef
) -> None:
    """PKCE downgrade (OAuth 2.0 Security BCP 2.1.1): a verifier for a code whose request had
    no challenge is refused, so stripping the challenge from a request gains nothing."""
    helpers.open_session(runtime, client, alice)
    code = oauth.at_app(ask(client, moodle, **NO_PKCE), moodle)["code"]
    helpers.token_error(oauth.exchange(client, moodle, code), "invalid_grant")


def test_moodle_signs_in_through_the_pages_with_form_post(
    client: TestClient, clock: FakeClock, moodle: App, secret: str
) -> None:
    """Moodle's auth_oidc: no PKCE, a nonce, response_mode=form_post."""
    page = oauth.authorize(client, moodle, response_mode="form_post", **NO_PKCE)
    assert page.request.url.path == "/signin"
    fields = posted(oauth.sign_in(client, clock, secret), moodle)
    assert fields["state"] == moodle.state and fields["code"]
    answer = exchange_without_verifier(client, moodle, fields["code"])
    assert answer.status_code == 200, answer.text
    claims = oauth.verify_id_token(client, moodle, answer.json()["id_token"], clock)
    assert claims["nonce"] == moodle.nonce and claims["acr"] == "urn:portvakt:acr:mfa"


def test_a_code_issued_without_pkce_is_exchanged_without_a_verifier(
    runtime: Runtime, client: TestClient, clock: FakeClock, moodle: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    code = oauth.at_app(ask(client, moodle, **NO_PKCE), moodle)["code"]
    answer = exchange_without_verifier(client, moodle, code)
    assert answer.status_code == 200, answer.text
    claims = oauth.verify_id_token(client, moodle, answer.json()["id_token"], clock)
    assert claims["nonce"] == moodle.nonce
    helpers.token_error(exchange_without_verifier(client, moodle, code), "invalid_grant")
