"""What the OpenID Connect tests share beyond ``oauth.py``: faster ``db_url``/``runtime``/
``secret`` fixtures (a module opts in by naming them: ``runtime = helpers.runtime``), a person
with an active authenticator app, a signed-in browser without the sign-in pages, error-page and
error-redirect checks, and the token calls an app makes."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from markupsafe import escape

from portvakt.app import Runtime, build
from portvakt.context import Context
from portvakt.core import enrollment, sessions, users
from portvakt.core.oidc import keys
from portvakt.crypto import hashing, otp
from portvakt.domain import Door, UserRef
from portvakt.settings import Settings
from portvakt.store import migrate
from portvakt.store.db import Store
from portvakt.store.models import Base, User
from portvakt.web import cookies
from portvakt.web.messages import error_text
from tests.conftest import PASSWORD, PG_DSN, PG_URL, FakeClock, _require_postgres
from tests.integration.oidc import oauth
from tests.integration.oidc.oauth import App

SESSION = cookies.SESSION
AUTHZ = cookies.AUTHZ


# -- a faster database -------------------------------------------------------------------------
#
# tests/conftest.py gives every test a new SQLite file or PostgreSQL schema and migrates it:
# about half a second a test on both databases, most of it Alembic. A module that takes
# ``db_url`` and ``runtime`` from here instead gets a copy of one migrated SQLite file, or one
# migrated PostgreSQL schema per run emptied before each test: the same tables, every test
# still on both databases and on a database of its own, in a fraction of the time.


_migrated: dict[str, str] = {}  # once per run: "sqlite" → template file, "postgres" → schema


def _migrated_sqlite(request: pytest.FixtureRequest) -> str:
    if "sqlite" not in _migrated:
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        path = factory.mktemp("migrated") / "portvakt.db"
        store = Store(f"sqlite:///{path}")
        migrate.upgrade(store.engine)
        store.dispose()
        _migrated["sqlite"] = str(path)
    return _migrated["sqlite"]


def _migrated_postgres(request: pytest.FixtureRequest) -> str:
    if "postgres" not in _migrated:
        _migrated["postgres"] = _new_migrated_schema(request)
    return _migrated["postgres"]


def _new_migrated_schema(request: pytest.FixtureRequest) -> str:
    """A new PostgreSQL schema at the newest migration, dropped at the end of the run."""
    _require_postgres()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    request.config.add_cleanup(lambda: _drop_schema(schema))
    store = Store(_pg_url(schema))
    migrate.upgrade(store.engine)
    store.dispose()
    return schema


def _pg_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


def _drop_schema(schema: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def private_database(request: pytest.FixtureRequest, backend: str) -> str:
    """A migrated database nobody else uses, for a runtime shared by one module's tests;
    dropped at the end of the run."""
    if backend == "sqlite":
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        target = factory.mktemp("private") / "portvakt.db"
        shutil.copyfile(_migrated_sqlite(request), target)
        return f"sqlite:///{target}"
    return _pg_url(_new_migrated_schema(request))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "portvakt.db"
        shutil.copyfile(_migrated_sqlite(request), target)
        return f"sqlite:///{target}"
    schema = _migrated_postgres(request)
    with psycopg.connect(PG_DSN, options=f"-csearch_path={schema}") as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(f"DELETE FROM {table.name}")
    return _pg_url(schema)


# Password hashing and RSA key generation are not what these tests are about, and were most of
# their time: argon2id runs with small parameters, and the RS256 keys a test asks for come from
# a pool generated once per run (the n-th key of every test is the same key).
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, hash_len=32)
_RSA_POOL: list[keys.Key] = []


def _pooled(real: Callable[[str], keys.Key]) -> Callable[[str], keys.Key]:
    used = 0

    def generate(alg: str) -> keys.Key:
        nonlocal used
        if alg != "RS256":
            return real(alg)
        if used == len(_RSA_POOL):
            _RSA_POOL.append(real(alg))
        used += 1
        return _RSA_POOL[used - 1]

    return generate


@pytest.fixture
def runtime(
    settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """As tests/conftest.py's, on a database that is already migrated."""
    monkeypatch.setattr(hashing, "_HASHER", _CHEAP_HASHER)
    monkeypatch.setattr(keys, "_generate", _pooled(keys._generate))
    rt = build(settings, clock=clock, upgrade=False)
    yield rt
    stopper = threading.Thread(target=lambda: asyncio.run(rt.core.notifier.stop()))
    stopper.start()
    stopper.join()
    rt.core.store.dispose()


@pytest.fixture
def secret(runtime: Runtime, clock: FakeClock, alice: UserRef) -> str:
    """As tests/integration/oidc/conftest.py's: alice has an active authenticator app (set up
    through the core rather than the pages) and no session; her seed (base32)."""
    return add_totp(runtime, clock, alice)


def cli(runtime: Runtime) -> Context:
    return runtime.context(Door.CLI, actor="test")


def add_person(
    runtime: Runtime,
    username: str,
    *,
    email: str | None = None,
    phone: str | None = None,
) -> UserRef:
    """A person with a password and no sign-in method yet."""
    user = users.add(
        runtime.core,
        cli(runtime),
        username=username,
        password=PASSWORD,
        display_name=f"{username.title()} Example",
        email=email,
    )
    if phone is not None:
        with runtime.core.store.write() as s:
            row = s.get(User, user.id)
            assert row is not None
            row.phone = phone
    return user


def add_totp(runtime: Runtime, clock: FakeClock, user: UserRef) -> str:
    """Activate an authenticator app for ``user`` through the core; returns the base32 seed.
    The clock moves on one step so the next code the person types is not a replay."""
    ctx = cli(runtime)
    pending = enrollment.begin(runtime.core, ctx, user_id=user.id, kind="totp")
    shown = enrollment.pending_display(runtime.core, ctx, user_id=user.id, credential_id=pending)
    seed = str(shown.display["secret_text"]).replace(" ", "")
    code = otp.totp(otp.b32decode(seed), clock.now().timestamp())
    enrollment.confirm(runtime.core, ctx, user_id=user.id, credential_id=pending, code=code)
    clock.advance(seconds=30)
    return seed


def open_session(
    runtime: Runtime, client: TestClient, user: UserRef, *, method: str | None = "totp"
) -> str:
    """This browser is signed in as ``user`` (with ``method`` as the second factor, or with a
    password only when None), as if it had gone through the sign-in pages. Returns the
    session's id (what ``sid`` is derived from)."""
    ctx = runtime.context(Door.WEB)
    with runtime.core.store.write() as s:
        token = sessions.create(
            s, ctx, user_id=user.id, method=method or "password", factor=method is not None
        )
    client.cookies.set(SESSION, token)
    live = sessions.load(runtime.core, ctx, token)
    assert live is not None
    return live.id


def location(response: httpx.Response) -> str | None:
    return response.headers.get("location")


def assert_error_page(response: httpx.Response, code: str, *, status: int = 400) -> None:
    """Shown to the person (HTML, the message for ``code``) and never redirected anywhere."""
    assert response.status_code == status, (response.status_code, location(response))
    assert location(response) is None
    assert response.headers["content-type"].startswith("text/html")
    assert str(escape(error_text(code))) in response.text, response.text[:600]
    assert "code=" not in response.text


def app_error(response: httpx.Response, app: App, error: str) -> dict[str, str]:
    """The app got ``error`` at its redirect URI (with its state and our issuer), no code."""
    assert response.status_code == 303, (response.status_code, response.text[:300])
    got = oauth.at_app(response, app)
    assert got.get("error") == error, got
    assert "code" not in got
    assert got["state"] == app.state and got["iss"] == oauth.ISSUER
    return got


def code_for(client: TestClient, app: App, **extra: str | None) -> str:
    """The code a signed-in browser brings back to the app straight away (no pages)."""
    response = client.get("/oauth2/authorize", params=app.params(**extra), follow_redirects=False)
    got = oauth.at_app(response, app)
    assert got["state"] == app.state and "error" not in got, got
    return got["code"]


def tokens_for(client: TestClient, app: App, **extra: str | None) -> dict[str, Any]:
    """Authorize with a signed-in browser and exchange the code."""
    answer = oauth.exchange(client, app, code_for(client, app, **extra))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def userinfo(client: TestClient, access_token: str) -> httpx.Response:
    return client.get("/oauth2/userinfo", headers=bearer(access_token))


def refresh(client: TestClient, app: App, token: str, **extra: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    return client.post("/oauth2/token", data=data, headers=app.basic())


def token_error(response: httpx.Response, error: str, *, status: int = 400) -> dict[str, Any]:
    """An RFC 6749 §5.2 error: JSON, never cached."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body
    return body


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, unverified (to look at, never to trust)."""
    header, payload, _ = token.split(".")
    return _b64json(header), _b64json(payload)


def _b64json(part: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


def sub_of(tokens: dict[str, Any]) -> str:
    """The ``sub`` of the ID token in a token response (the reference for UserInfo)."""
    sub: str = jwt_parts(tokens["id_token"])[1]["sub"]
    return sub


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
