"""The OpenID Foundation's Basic OP plan (``oidcc-basic-certification-test-plan``), modules 1 to
16 in its order (SECURITY.md §6): one test per module, named after it. Portvakt requires PKCE
S256 from every client, so every request here sends it; ``test_conformance_codes.py`` shows a
request without it refused. Modules 17 to 27 are in ``test_conformance_session.py``, 28 to 38
in ``test_conformance_codes.py``."""

from __future__ import annotations

import base64
import hashlib

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from portvakt.app import Runtime
from portvakt.domain import UserRef
from portvakt.errors import Invalid
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret

CLAIMS_OF_BOB = {
    "name": "Bob Example",
    "preferred_username": "bob",
    "email": "bob@example.org",
    "phone_number": "+4791234567",
}


@pytest.fixture
def bob(runtime: Runtime, client: TestClient) -> UserRef:
    """Signed in in this browser (a session as after password and code), with every claim."""
    user = helpers.add_person(runtime, "bob", email="bob@example.org", phone="+4791234567")
    helpers.open_session(runtime, client, user)
    return user


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_oidcc_server(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    started = oauth.authorize(client, app)
    assert started.status_code == 200 and started.request.url.path == "/signin"
    got = oauth.at_app(oauth.sign_in(client, clock, secret), app)
    assert set(got) == {"code", "state", "iss"}
    assert got["state"] == app.state and got["iss"] == oauth.ISSUER
    answer = oauth.exchange(client, app, got["code"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {
        "access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token"
    }  # fmt: skip
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert body["scope"] == "openid profile email"
    claims = oauth.verify_id_token(client, app, body["id_token"], clock)
    assert claims["azp"] == app.client_id and claims["nonce"] == app.nonce
    assert claims["at_hash"] == at_hash(body["access_token"])
    assert claims["exp"] - claims["iat"] == 600
    assert claims["iat"] == int(clock.now().timestamp())
    assert len(claims["sid"]) == 32
    info = helpers.userinfo(client, body["access_token"])
    assert info.status_code == 200
    assert info.json() == {
        "sub": claims["sub"],
        "name": "Alice Example",
        "preferred_username": "alice",
    }


def test_oidcc_response_type_missing(client: TestClient, app: App, bob: UserRef) -> None:
    missing = client.get(
        "/oauth2/authorize", params=app.params(response_type=None), follow_redirects=False
    )
    helpers.app_error(missing, app, "invalid_request")
    for other in ("token", "id_token", "code id_token", "code token", "none"):
        response = client.get(
            "/oauth2/authorize", params=app.params(response_type=other), follow_redirects=False
        )
        helpers.app_error(response, app, "unsupported_response_type")


def test_oidcc_idtoken_signature(client: TestClient, app: App, bob: UserRef) -> None:
    id_token = helpers.tokens_for(client, app)["id_token"]
    header, _ = helpers.jwt_parts(id_token)
    assert header == {"alg": "ES256", "kid": header["kid"], "typ": "JWT"}
    published = client.get("/oauth2/jwks").json()
    key = next(k for k in published["keys"] if k["kid"] == header["kid"])
    assert key["alg"] == "ES256" and key["use"] == "sig" and key["kty"] == "EC"
    for jwk in published["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk), "private key material"
    keyset = KeySet.import_key_set(published)
    assert jwt.decode(id_token, keyset, algorithms=["ES256"]).claims["aud"] == app.client_id
    head, _, signature = id_token.split(".")
    claims = helpers.jwt_parts(id_token)[1] | {"sub": "999"}
    forged = f"{head}.{helpers.b64url(claims)}.{signature}"
    with pytest.raises(BadSignatureError):
        jwt.decode(forged, keyset, algorithms=["ES256"])


def test_oidcc_idtoken_unsigned(
    runtime: Runtime, client: TestClient, app: App, bob: UserRef
) -> None:
    """Portvakt never issues ``alg: none`` and never accepts it."""
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    with pytest.raises(Invalid) as refused:
        register(runtime, "Unsigned app", id_token_alg="none")
    assert refused.value.code == "invalid_alg"
    body = helpers.tokens_for(client, app)
    assert helpers.jwt_parts(body["id_token"])[0]["alg"] == "ES256"
    claims = helpers.jwt_parts(body["id_token"])[1]
    unsigned = f"{helpers.b64url({'alg': 'none', 'typ': 'JWT'})}.{helpers.b64url(claims)}."
    logout = client.get(
        "/oauth2/logout", params={"id_token_hint": unsigned}, follow_redirects=False
    )
    helpers.assert_error_page(logout, "invalid_id_token_hint")
    assert helpers.userinfo(client, body["access_token"]).status_code == 200  # still signed in


def test_oidcc_userinfo_get(client: TestClient, app: App, bob: UserRef) -> None:
    body = helpers.tokens_for(client, app)
    info = client.get("/oauth2/userinfo", headers=helpers.bearer(body["access_token"]))
    assert info.status_code == 200
    assert info.headers["content-type"] == "application/json"
    assert info.headers["cache-control"] == "no-store"
    sub = helpers.jwt_parts(body["id_token"])[1]["sub"]
    assert info.json() == {"sub": sub, "name": "Bob Example", "preferred_username": "bob"} | {
        "email": "bob@example.org"
    }


def test_oidcc_userinfo_post_header(client: TestClient, app: App, bob: UserRef) -> None:
    body = helpers.tokens_for(client, app)
    info = client.post("/oauth2/userinfo", headers=helpers.bearer(body["access_token"]))
    assert info.status_code == 200
    assert info.json()["sub"] == helpers.jwt_parts(body["id_token"])[1]["sub"]


def test_oidcc_userinfo_post_body(client: TestClient, app: App, bob: UserRef) -> None:
    body = helpers.tokens_for(client, app)
    info = client.post("/oauth2/userinfo", data={"access_token": body["access_token"]})
    assert info.status_code == 200
    assert info.json()["preferred_username"] == "bob"
    both = client.post(
        "/oauth2/userinfo",
        data={"access_token": body["access_token"]},
        headers=helpers.bearer(body["access_token"]),
    )
    helpers.token_error(both, "invalid_request")  # RFC 6750 §2: one method only


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
    client: TestClient, clock: FakeClock, app: App, bob: UserRef
) -> None:
    body = helpers.tokens_for(client, app, nonce=None)
    claims = oauth.verify_id_token(client, app, body["id_token"], clock)
    assert "nonce" not in claims


def _check_scope(client: TestClient, app: App, bob: UserRef, scope: str, *released: str) -> None:
    """The scope's claims (OpenID Connect Core 5.4) and no others, in userinfo and ID token."""
    body = helpers.tokens_for(client, app, scope=scope)
    assert body["scope"] == scope
    expected = {k: CLAIMS_OF_BOB[k] for k in released}
    info = helpers.userinfo(client, body["access_token"]).json()
    assert info == {"sub": helpers.sub_of(body), **expected}
    id_claims = helpers.jwt_parts(body["id_token"])[1]
    assert {k: id_claims[k] for k in CLAIMS_OF_BOB if k in id_claims} == expected


def test_oidcc_scope_profile(client: TestClient, app: App, bob: UserRef) -> None:
    _check_scope(client, app, bob, "openid profile", "name", "preferred_username")


def test_oidcc_scope_email(client: TestClient, app: App, bob: UserRef) -> None:
    _check_scope(client, app, bob, "openid email", "email")


def test_oidcc_scope_address(runtime: Runtime, client: TestClient, bob: UserRef) -> None:
    """Portvakt keeps no postal addresses: the scope is granted, no claim is invented (the
    suite warns, it does not fail). A client not registered for it has it left out."""
    mail = register(runtime, "Mail room", scopes=("openid", "address"))
    body = helpers.tokens_for(client, mail, scope="openid address")
    assert body["scope"] == "openid address"
    assert helpers.userinfo(client, body["access_token"]).json() == {"sub": helpers.sub_of(body)}
    other = register(runtime, "No address")
    assert helpers.tokens_for(client, other, scope="openid address")["scope"] == "openid"


def test_oidcc_scope_phone(client: TestClient, app: App, bob: UserRef) -> None:
    _check_scope(client, app, bob, "openid phone", "phone_number")


def test_oidcc_scope_all(client: TestClient, app: App, bob: UserRef) -> None:
    body = helpers.tokens_for(client, app, scope="openid profile email address phone")
    assert body["scope"] == "openid profile email phone"  # address: not registered for it
    info = helpers.userinfo(client, body["access_token"]).json()
    assert info == {"sub": helpers.sub_of(body), **CLAIMS_OF_BOB}


def test_oidcc_ensure_other_scope_order_succeeds(
    client: TestClient, app: App, bob: UserRef
) -> None:
    body = helpers.tokens_for(client, app, scope="email profile openid")
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    info = helpers.userinfo(client, body["access_token"]).json()
    assert info["email"] == "bob@example.org" and info["name"] == "Bob Example"


def _signs_in_with(
    client: TestClient, clock: FakeClock, app: App, secret: str, **extra: str
) -> None:
    started = oauth.authorize(client, app, **extra)
    assert started.status_code == 200 and started.request.url.path == "/signin"
    got = oauth.at_app(oauth.sign_in(client, clock, secret), app)
    assert oauth.exchange(client, app, got["code"]).status_code == 200


def test_oidcc_display_page(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    _signs_in_with(client, clock, app, secret, display="page")


def test_oidcc_display_popup(client: TestClient, clock: FakeClock, app: App, secret: str) -> None:
    _signs_in_with(client, clock, app, secret, display="popup")
