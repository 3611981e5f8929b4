"""The token endpoint authenticates its client inside the exchange's transaction: a rotated
secret or a deleted app stops working at once, failed client logins are audited and share one
per-address budget with introspection and revocation, and a throttled address gets 429 even
with the right secret. Codes and tokens are stored only as SHA-256. Concurrent exchanges of
one code or one refresh token: exactly one wins, and the others revoke the grant."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.core.oidc import clients, keys, tokens
from portvakt.core.oidc.errors import OAuthError
from portvakt.crypto.hashing import sha256_hex
from portvakt.domain import Door, UserRef
from portvakt.store.models import AuditEvent, Base, OidcGrant, OidcToken, RateCounter
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

LIMIT = 10  # the smallest code_failures_per_ip allowed


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_url": oauth.ISSUER, "code_failures_per_ip": LIMIT}


@pytest.fixture
def tokens_of(runtime: Runtime, client: TestClient, app: App, alice: UserRef) -> dict[str, Any]:
    helpers.open_session(runtime, client, alice)
    return helpers.tokens_for(client, app)


def wrong_secret(app: App) -> dict[str, str]:
    return App(client_id=app.client_id, secret="pvs_wrong").basic()


def failures_audited(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.core.store.read() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.event == "oidc.client_auth_failed"))
        return [dict(row.details) for row in rows]


def test_failed_client_logins_are_audited_and_counted(
    runtime: Runtime, client: TestClient, app: App, tokens_of: dict[str, Any]
) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": tokens_of["refresh_token"]}
    answer = client.post("/oauth2/token", data=form, headers=wrong_secret(app))
    helpers.token_error(answer, "invalid_client", status=401)
    unknown = {**form, "client_id": "x" * 500, "client_secret": "y"}
    helpers.token_error(client.post("/oauth2/token", data=unknown), "invalid_client", status=401)
    assert failures_audited(runtime) == [{"client_id": app.client_id}, {"client_id": "x" * 64}]
    with runtime.core.store.read() as s:
        counter = s.get(RateCounter, "oidc-client-ip:testclient")
        assert counter is not None and counter.count == 2
    assert helpers.refresh(client, app, tokens_of["refresh_token"]).status_code == 200


def test_throttled_address_gets_429_even_with_the_right_secret(
    client: TestClient, app: App, tokens_of: dict[str, Any]
) -> None:
    """The budget is shared: failures at introspection count at the token endpoint."""
    for n in range(LIMIT):
        where = "/oauth2/introspect" if n % 2 else "/oauth2/token"
        answer = client.post(where, data={"token": "x"}, headers=wrong_secret(app))
        helpers.token_error(answer, "invalid_client", status=401)
    throttled = helpers.refresh(client, app, tokens_of["refresh_token"])
    helpers.token_error(throttled, "invalid_client", status=429)
    introspection = client.post("/oauth2/introspect", data={"token": "x"}, headers=app.basic())
    helpers.token_error(introspection, "invalid_client", status=429)


def test_rotated_secret_and_deleted_app_stop_working_at_once(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    issued = helpers.tokens_for(client, app)  # this client's view is now remembered
    ctx = helpers.cli(runtime)
    _, secret = clients.rotate_secret(runtime.core, ctx, app.client_id)
    refused = helpers.refresh(client, app, issued["refresh_token"])
    helpers.token_error(refused, "invalid_client", status=401)
    app.secret = secret
    renewed = helpers.refresh(client, app, issued["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    clients.delete(runtime.core, ctx, app.client_id)
    gone = helpers.refresh(client, app, renewed.json()["refresh_token"])
    helpers.token_error(gone, "invalid_client", status=401)


def test_codes_and_tokens_are_stored_only_as_hashes(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    code = helpers.code_for(client, app)
    issued = oauth.exchange(client, app, code).json()
    renewed = helpers.refresh(client, app, issued["refresh_token"]).json()
    secrets = [code, *(v[k] for v in (issued, renewed) for k in ("access_token", "refresh_token"))]
    with runtime.core.store.read() as s:
        ids = set(s.scalars(select(OidcToken.id)))
        assert s.scalar(select(OidcGrant.code_hash)) == sha256_hex(code)
        dump = repr([list(s.execute(select(table)).all()) for table in Base.metadata.sorted_tables])
    assert {sha256_hex(value) for value in secrets[1:]} == ids
    for value in secrets:
        assert value not in dump


def exchange_at_once(runtime: Runtime, app: App, form: Mapping[str, str], n: int) -> list[Any]:
    """``n`` identical exchanges started together, as concurrent requests are."""
    ctx = runtime.context(Door.OIDC, ip="192.0.2.7", base_url=oauth.ISSUER)
    caller = tokens.Caller(app.client_id, app.secret)

    async def run() -> list[Any]:
        calls = [tokens.exchange_async(runtime.core, ctx, caller, form) for _ in range(n)]
        results: list[Any] = await asyncio.gather(*calls, return_exceptions=True)
        return results

    return asyncio.run(run())


def test_concurrent_exchanges_of_one_code_give_one_answer_and_revoke(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    helpers.open_session(runtime, client, alice)
    code = helpers.code_for(client, app)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": app.redirect_uri,
        "code_verifier": app.verifier,
    }
    results = exchange_at_once(runtime, app, form, 8)
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, OAuthError)]
    assert len(won) == 1 and len(lost) == 7, results
    assert {e.error for e in lost} == {"invalid_grant"}
    assert helpers.userinfo(client, won[0]["access_token"]).status_code == 401  # revoked


def test_concurrent_refreshes_of_one_token_give_one_answer_and_revoke(
    client: TestClient, runtime: Runtime, app: App, tokens_of: dict[str, Any]
) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": tokens_of["refresh_token"]}
    results = exchange_at_once(runtime, app, form, 8)
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1, results
    lost = [r for r in results if not isinstance(r, dict)]
    assert all(isinstance(r, OAuthError) and r.error == "invalid_grant" for r in lost), lost
    assert helpers.userinfo(client, won[0]["access_token"]).status_code == 401
    helpers.token_error(helpers.refresh(client, app, won[0]["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_exchange_fetches_the_signing_key_when_no_cache_has_it(
    runtime: Runtime, client: TestClient, alice: UserRef, alg: str
) -> None:
    """The key is read (or made) outside the write transaction, then the exchange runs
    again: on an app's first exchange here, and whenever the key cache has expired."""
    app = register(runtime, f"App {alg}", id_token_alg=alg)
    helpers.open_session(runtime, client, alice)
    for forget in (keys._cache.clear, tokens._views.clear, lambda: None):
        forget()
        issued = helpers.tokens_for(client, app)
        header, _ = helpers.jwt_parts(issued["id_token"])
        assert header["alg"] == alg
        assert keys.cached_signing_key(runtime.core, helpers.cli(runtime), alg) is not None
