"""``store.repos.oidc``: the token endpoint's statements on the DBAPI cursor read what Core
reads and write what the ORM reads back, on SQLite and PostgreSQL; the compare-and-sets
succeed once; a revocation keeps its first time; a grant's expiry only moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portvakt.app import Runtime
from portvakt.store.models import OidcClient, OidcGrant, OidcToken, RateCounter, User
from portvakt.store.prepared import Prepared
from portvakt.store.repos import oidc
from tests.integration.oidc import helpers

# a faster database (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime

NOW = datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=UTC)
RATE_KEY = "oidc-client-ip:192.0.2.1"


def _fill(s: Session) -> dict[str, Any]:
    user = User(username="bob", subject="s" * 32, display_name="Bob", email="b@example.org")
    user.created_at = NOW
    app = OidcClient(
        client_id="app-1",
        name="App",
        secret_hash="h" * 64,
        redirect_uris=["https://app.example.org/cb"],
        post_logout_uris=[],
        scopes=["openid", "email"],
        grants=["authorization_code", "refresh_token"],
        required_level="mfa",
        id_token_alg="ES256",
        created_at=NOW,
    )
    s.add_all([user, app, RateCounter(key=RATE_KEY, window_start=NOW, count=3)])
    s.flush()
    grant = OidcGrant(
        client_pk=app.id,
        user_id=user.id,
        session_id="sess",
        scope="openid email",
        nonce="n",
        auth_time=NOW,
        acr="urn:portvakt:acr:mfa",
        amr=["pwd", "otp", "mfa"],
        code_hash="c" * 64,
        code_expires_at=NOW + timedelta(seconds=60),
        redirect_uri="https://app.example.org/cb",
        code_challenge="x" * 43,
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=60),
    )
    s.add(grant)
    s.flush()
    s.add(
        OidcToken(
            id="t" * 64,
            grant_id=grant.id,
            kind="access",
            created_at=NOW,
            expires_at=NOW + timedelta(minutes=10),
            scope="openid",
        )
    )
    s.flush()  # statements on the cursor see only what was flushed (no autoflush)
    return {"grant_id": grant.id, "client_pk": app.id}


def _core_rows(s: Session, prepared: Prepared, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    result = s.execute(prepared.statement, params)
    assert tuple(result.keys()) == prepared.columns
    return [tuple(row) for row in result.all()]


@pytest.mark.parametrize(
    ("read", "params"),
    [
        (oidc._CLIENT, {"client_id": "app-1", "rate_key": RATE_KEY}),
        (oidc._CLIENT, {"client_id": "nobody", "rate_key": RATE_KEY}),
        (oidc._COUNTER, {"rate_key": RATE_KEY}),
        (oidc._BY_CODE, {"code_hash": "c" * 64}),
        (oidc._BY_TOKEN, {"token_id": "t" * 64}),
        (oidc._BY_TOKEN, {"token_id": "u" * 64}),
    ],
)
def test_reads_give_the_rows_core_gives(
    runtime: Runtime, read: Prepared, params: dict[str, Any]
) -> None:
    with runtime.core.store.write() as s:
        _fill(s)
        assert read.rows(s, params) == _core_rows(s, read, params)


def test_reads_make_the_domain_objects(runtime: Runtime) -> None:
    with runtime.core.store.write() as s:
        ids = _fill(s)
        found = oidc.client(s, "app-1", rate_key=RATE_KEY)
        nobody = oidc.client(s, "nobody", rate_key=RATE_KEY)
        no_counter = oidc.client(s, None, rate_key="elsewhere")
        grant = oidc.grant_by_code(s, "c" * 64)
        token = oidc.token(s, "t" * 64)
    assert found.counter == (3, NOW) and nobody.counter == (3, NOW)
    assert nobody.columns is None and no_counter == oidc.StoredClient(None, None)
    model = found.row()
    assert (
        model is not None and model.scopes == ["openid", "email"] and model.id == ids["client_pk"]
    )
    assert grant is not None and grant.person is not None
    assert grant.amr == ("pwd", "otp", "mfa") and grant.auth_time == NOW
    assert grant.person.subject == "s" * 32 and grant.person.disabled is False
    assert token is not None and token.grant == grant
    assert token.scope == "openid" and token.own_scope == "openid"
    assert token.expires_at == NOW + timedelta(minutes=10) and token.expires_at.tzinfo == UTC


def test_writes_read_back_through_the_orm(runtime: Runtime) -> None:
    later = NOW + timedelta(days=30)
    with runtime.core.store.write() as s:
        ids = _fill(s)
        grant_id = ids["grant_id"]
        assert oidc.claim_code(s, grant_id, now=NOW) is True
        assert oidc.claim_code(s, grant_id, now=later) is False
        oidc.add_token(s, "r" * 64, grant_id=grant_id, kind="refresh", now=NOW, expires_at=later)
        assert oidc.claim_refresh(s, "r" * 64, now=NOW) is True
        assert oidc.claim_refresh(s, "r" * 64, now=later) is False
        oidc.extend_grant(s, grant_id, until=later)
        oidc.extend_grant(s, grant_id, until=NOW)  # never shortens
        oidc.revoke_grant(s, grant_id, now=NOW)
        oidc.revoke_grant(s, grant_id, now=later)  # keeps the first time
        oidc.revoke_token(s, "t" * 64)
        service = oidc.add_client_grant(s, ids["client_pk"], scope="", now=NOW, expires_at=later)
    with runtime.core.store.read() as s:
        grant = s.get(OidcGrant, grant_id)
        refresh = s.get(OidcToken, "r" * 64)
        access = s.get(OidcToken, "t" * 64)
        made = s.get(OidcGrant, service)
        assert grant is not None and refresh is not None and access is not None
        assert (grant.code_used_at, grant.expires_at, grant.revoked_at) == (NOW, later, NOW)
        assert refresh.used_at == NOW and refresh.revoked is False and refresh.scope is None
        assert access.revoked is True
        assert made is not None and made.user_id is None and made.amr == []
        assert (made.scope, made.created_at, made.expires_at) == ("", NOW, later)
        assert made.code_hash is None and made.revoked_at is None
        assert s.scalar(select(OidcGrant.id).where(OidcGrant.id == service)) == service
