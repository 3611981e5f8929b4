"""ID-token signing keys: one ES256 and one RS256 chain, rotated without breaking anyone. A new
key is published at once and signs after ``oidc_key_publish_hours``; the key it replaces stays
published until the last ID token it signed has expired (``oidc_id_token_seconds`` + 300 s).
``immediately`` (a leaked key) switches and withdraws at once.

The keys module caches rows for 60 s of real time, per store; every time decision is made on
the cached rows with the (fake) clock, and rotation empties the cache, so these tests need no
hook into it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portvakt.app import Runtime
from portvakt.core import maintenance
from portvakt.core.oidc import keys
from portvakt.domain import UserRef
from tests.conftest import FakeClock
from tests.integration.oidc import helpers
from tests.integration.oidc.conftest import register
from tests.integration.oidc.oauth import App

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

PUBLISH = timedelta(hours=24)  # oidc_key_publish_hours
KEEP = timedelta(seconds=600 + 300)  # oidc_id_token_seconds + 300


def id_token(runtime: Runtime, client: TestClient, app: App, alice: UserRef) -> str:
    """A new ID token for ``app`` (a new session each time: the clock jumps by days here)."""
    helpers.open_session(runtime, client, alice)
    token: str = helpers.tokens_for(client, app)["id_token"]
    return token


def kid_of(token: str) -> str:
    kid: str = helpers.jwt_parts(token)[0]["kid"]
    return kid


def published(client: TestClient) -> dict[str, str]:
    """kid → alg of the JWKS."""
    answer = client.get("/oauth2/jwks")
    assert answer.status_code == 200
    return {k["kid"]: k["alg"] for k in answer.json()["keys"]}


def verifies(client: TestClient, token: str) -> bool:
    keyset = KeySet.import_key_set(client.get("/oauth2/jwks").json())
    try:
        jwt.decode(token, keyset, algorithms=["ES256", "RS256"])
    except JoseError:
        return False
    return True


def new_pair(runtime: Runtime, *, immediately: bool = False) -> tuple[str, str]:
    es, rs = keys.rotate(runtime.core, helpers.cli(runtime), immediately=immediately)
    return es, rs


def test_jwks_starts_with_one_key_per_algorithm(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    found = client.get("/oauth2/jwks").json()["keys"]
    assert sorted(k["alg"] for k in found) == ["ES256", "RS256"]
    for key in found:
        assert key["use"] == "sig" and key["kid"]
        assert key["kty"] == {"ES256": "EC", "RS256": "RSA"}[key["alg"]]
    token = id_token(runtime, client, app, alice)
    assert published(client)[kid_of(token)] == "ES256"
    assert published(client) == {k["kid"]: k["alg"] for k in found}  # stable


def test_jwks_and_discovery_may_be_cached(client: TestClient) -> None:
    assert client.get("/oauth2/jwks").headers["cache-control"] == "public, max-age=600"
    metadata = client.get("/.well-known/openid-configuration")
    assert metadata.headers["cache-control"] == "public, max-age=3600"


def test_rotation_publishes_first_and_signs_later(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    old = kid_of(id_token(runtime, client, app, alice))
    old_rs = next(k for k, alg in published(client).items() if alg == "RS256")
    new_es, new_rs = new_pair(runtime)
    assert published(client) == {old: "ES256", old_rs: "RS256", new_es: "ES256", new_rs: "RS256"}
    assert kid_of(id_token(runtime, client, app, alice)) == old
    clock.advance(seconds=PUBLISH.total_seconds() - 1)
    last_by_old = id_token(runtime, client, app, alice)
    assert kid_of(last_by_old) == old
    clock.advance(seconds=1)
    first_by_new = id_token(runtime, client, app, alice)
    assert kid_of(first_by_new) == new_es
    assert verifies(client, first_by_new)
    clock.advance(seconds=KEEP.total_seconds() - 1)
    assert set(published(client)) == {old, old_rs, new_es, new_rs}
    assert verifies(client, last_by_old)  # apps can still check what the old key signed
    clock.advance(seconds=1)
    assert published(client) == {new_es: "ES256", new_rs: "RS256"}
    assert not verifies(client, last_by_old)


def test_immediate_rotation_switches_and_withdraws_at_once(
    runtime: Runtime, client: TestClient, app: App, alice: UserRef
) -> None:
    before = id_token(runtime, client, app, alice)
    new_es, new_rs = new_pair(runtime, immediately=True)
    assert published(client) == {new_es: "ES256", new_rs: "RS256"}
    assert kid_of(id_token(runtime, client, app, alice)) == new_es
    assert not verifies(client, before)
    logout = client.get("/oauth2/logout", params={"id_token_hint": before}, follow_redirects=False)
    helpers.assert_error_page(logout, "invalid_id_token_hint")  # the withdrawn key is not trusted


def test_immediate_rotation_during_a_planned_one_withdraws_every_older_key(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    """A leak is often noticed after a planned rotation has started: then the key still
    signing (not only the pending one) must go too."""
    leaked = kid_of(id_token(runtime, client, app, alice))
    new_pair(runtime)
    clock.advance(hours=1)
    fresh_es, fresh_rs = new_pair(runtime, immediately=True)
    assert published(client) == {fresh_es: "ES256", fresh_rs: "RS256"}
    assert leaked not in published(client)
    assert kid_of(id_token(runtime, client, app, alice)) == fresh_es


def test_second_rotation_signs_with_a_published_key(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    """While a second rotation is pending, the key that signs is the one the first rotation
    introduced (the newest whose time has come), never the withdrawn first key."""
    first = kid_of(id_token(runtime, client, app, alice))
    second, _ = new_pair(runtime)
    clock.advance(seconds=(PUBLISH + KEEP).total_seconds() + 60)
    assert first not in published(client)
    assert kid_of(id_token(runtime, client, app, alice)) == second
    third, _ = new_pair(runtime)
    token = id_token(runtime, client, app, alice)
    assert kid_of(token) == second
    assert verifies(client, token)
    clock.advance(seconds=PUBLISH.total_seconds())
    assert kid_of(id_token(runtime, client, app, alice)) == third


def test_housekeeping_rotates_after_the_rotation_period(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, alice: UserRef
) -> None:
    ctx = helpers.cli(runtime)
    first = kid_of(id_token(runtime, client, app, alice))
    start = set(published(client))
    days = runtime.settings.oidc_key_rotate_days
    clock.advance(days=days, seconds=-1)
    assert maintenance.prune(runtime.core, ctx)["oidc_keys"] == 0
    assert set(published(client)) == start
    clock.advance(seconds=1)
    maintenance.prune(runtime.core, ctx)
    now_published = published(client)
    assert len(now_published) == 4 and start < set(now_published)
    assert kid_of(id_token(runtime, client, app, alice)) == first  # not yet signing
    maintenance.prune(runtime.core, ctx)
    assert len(published(client)) == 4  # one rotation per period, not one per run
    clock.advance(seconds=PUBLISH.total_seconds())
    assert kid_of(id_token(runtime, client, app, alice)) != first
    clock.advance(seconds=KEEP.total_seconds() + 86400 + 1)
    assert maintenance.prune(runtime.core, ctx)["oidc_keys"] == 2  # the withdrawn pair deleted
    assert len(published(client)) == 2 and not start & set(published(client))


def test_rs256_client_gets_rs256_id_tokens(
    runtime: Runtime, client: TestClient, alice: UserRef
) -> None:
    legacy = register(runtime, "Legacy app", id_token_alg="RS256")
    token = id_token(runtime, client, legacy, alice)
    header = helpers.jwt_parts(token)[0]
    assert header["alg"] == "RS256"
    assert published(client)[header["kid"]] == "RS256"
    keyset = KeySet.import_key_set(client.get("/oauth2/jwks").json())
    assert jwt.decode(token, keyset, algorithms=["RS256"]).claims["aud"] == legacy.client_id
