"""Shared fixtures: settings in a temporary data folder, a controllable clock, the real app on
a real SQLite file or PostgreSQL schema, and a cookie-keeping client."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from portvakt.app import Runtime, build
from portvakt.core import users
from portvakt.domain import Door, UserRef
from portvakt.settings import Settings
from portvakt.web.app import create_app

# The CLI picks its language once, at import (Typer builds help texts then), from
# PORTVAKT_LANGUAGE or the machine's locale: the suite's English assertions must not depend on
# the LANG of whoever runs it. tests/integration/cli/test_i18n.py runs other languages in a
# subprocess.
os.environ["PORTVAKT_LANGUAGE"] = "en"

PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery staple"


class FakeClock:
    """Time that only moves when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def postgres_available() -> bool:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


_PG = postgres_available()


def _require_postgres() -> None:
    if _PG:
        return
    if os.environ.get("PORTVAKT_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is required (PORTVAKT_TEST_REQUIRE_POSTGRES=1)")
    pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    _require_postgres()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portvakt.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for every test in it."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, db_url: str, settings_overrides: dict[str, Any]) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, **settings_overrides)


@pytest.fixture
def runtime(settings: Settings, clock: FakeClock) -> Iterator[Runtime]:
    rt = build(settings, clock=clock)
    yield rt
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    stopper = threading.Thread(target=lambda: asyncio.run(rt.core.notifier.stop()))
    stopper.start()
    stopper.join()
    rt.core.store.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def alice(runtime: Runtime) -> UserRef:
    return users.add(
        runtime.core,
        runtime.context(Door.CLI, actor="test"),
        username="alice",
        password=PASSWORD,
        display_name="Alice Example",
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "page has no CSRF token"
    return found.group(1)
