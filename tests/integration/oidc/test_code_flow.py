"""The authorization code flow with PKCE, end to end through the pages and the token
endpoint, and what the tokens say."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import FakeClock
from tests.integration.oidc import oauth
from tests.integration.oidc.oauth import App


def test_sign_in_with_totp_gives_verified_tokens(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    started = oauth.authorize(client, app)
    assert started.request.url.path == "/signin"
    assert "to continue to Staff portal" in started.text
    query = oauth.at_app(oauth.sign_in(client, clock, secret), app)
    assert query["state"] == app.state and query["iss"] == oauth.ISSUER
    tokens = oauth.exchange(client, app, query["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    assert tokens.headers["cache-control"] == "no-store"
    claims = oauth.verify_id_token(client, app, body["id_token"], clock)
    assert claims["nonce"] == app.nonce
    assert claims["acr"] == "urn:portvakt:acr:mfa"
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["preferred_username"] == "alice"
    assert abs(claims["auth_time"] - clock.now().timestamp()) < 5
    info = client.get(
        "/oauth2/userinfo", headers={"authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
