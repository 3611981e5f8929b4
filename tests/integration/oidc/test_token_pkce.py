"""PKCE at the token endpoint (RFC 7636 §4.6), for codes as the authorization endpoint stores
them: a code with a challenge needs its verifier (missing: ``invalid_request``, the code stays
unspent; wrong: ``invalid_grant``); a code a confidential client got without PKCE (the
authorization endpoint's exemption) is exchanged without a verifier, and refuses one (a
stripped challenge, Security BCP 2.1.1); a public client always needs one."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.crypto.hashing import sha256_hex
from portvakt.domain import UserRef
from portvakt.store.models import OidcClient, OidcGrant
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime


def stored_code(runtime: Runtime, app: App, user: UserRef, *, challenge: str | None) -> str:
    """A code as ``authorize.issue_code`` stores it, with or without a PKCE challenge."""
    code = secrets.token_urlsafe(32)
    now = runtime.clock.now()
    with runtime.core.store.write() as s:
        client_pk = s.scalar(select(OidcClient.id).where(OidcClient.client_id == app.client_id))
        assert client_pk is not None
        s.add(
            OidcGrant(
                client_pk=client_pk,
                user_id=user.id,
                session_id="s",
                scope="openid profile",
                nonce=app.nonce,
                auth_time=now,
                acr="urn:portvakt:acr:mfa",
                amr=["pwd", "otp", "mfa"],
                code_hash=sha256_hex(code),
                code_expires_at=now + timedelta(seconds=60),
                redirect_uri=app.redirect_uri,
                code_challenge=challenge,
                created_at=now,
                expires_at=now + timedelta(seconds=60),
            )
        )
    return code


def without_verifier(app: App, code: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}


def test_code_with_a_challenge_needs_its_verifier(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    code = stored_code(runtime, app, alice, challenge=app.challenge)
    for missing in ({}, {"code_verifier": ""}):
        form = {**without_verifier(app, code), **missing}
        answer = client.post("/oauth2/token", data=form, headers=app.basic())
        helpers.token_error(answer, "invalid_request")
    wrong = oauth.exchange(client, app, code, code_verifier="w" * 43)
    helpers.token_error(wrong, "invalid_grant")
    assert oauth.exchange(client, app, code).status_code == 200


def test_code_without_a_challenge_is_exchanged_without_a_verifier(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    code = stored_code(runtime, app, alice, challenge=None)
    anonymous = client.post("/oauth2/token", data=without_verifier(app, code))
    helpers.token_error(anonymous, "invalid_client", status=401)  # still client-authenticated
    answer = client.post("/oauth2/token", data=without_verifier(app, code), headers=app.basic())
    assert answer.status_code == 200, answer.text
    claims = oauth.verify_id_token(client, app, answer.json()["id_token"], clock)
    assert claims["nonce"] == app.nonce


def test_code_without_a_challenge_refuses_a_verifier(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    code = stored_code(runtime, app, alice, challenge=None)
    helpers.token_error(oauth.exchange(client, app, code), "invalid_grant")


def test_public_client_always_needs_a_verifier(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    cli = register(runtime, "CLI", public=True, redirect_uris=("http://127.0.0.1:8123/cb",))
    code = stored_code(runtime, cli, alice, challenge=None)
    form = {**without_verifier(cli, code), "client_id": cli.client_id}
    helpers.token_error(client.post("/oauth2/token", data=form), "invalid_request")
