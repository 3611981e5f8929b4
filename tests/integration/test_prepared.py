"""``Prepared``: Core statements run on the DBAPI cursor give what Core gives, on SQLite and
PostgreSQL: the same rows (UTC datetimes, JSON, booleans, bytes), rows written raw read back
equal through the ORM, the compare-and-set's row count, the upsert's RETURNING, and the same
errors; what a fixed SQL string cannot carry is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, create_engine, insert, select, text
from sqlalchemy.exc import ArgumentError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from portvakt.core import ratelimit
from portvakt.store.db import Store
from portvakt.store.models import AuditEvent, Base, Credential, Integration, RateCounter, User
from portvakt.store.prepared import Prepared
from portvakt.store.repos import audit, credentials, factors

NOW = datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=UTC)
DIGEST = "d" * 64


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    created = Store(db_url)
    Base.metadata.create_all(created.engine)
    with created.write() as s:
        for name, count in (("nobody", 0), ("one", 1), ("two", 2)):
            _person(s, name, count)
        s.add(Integration(name="app", key_hash=DIGEST, created_at=NOW, trust_client_ip=True))
        s.add(RateCounter(key="ip:192.0.2.1", window_start=NOW, count=3))
        s.add(RateCounter(key="integration:1", window_start=NOW - timedelta(minutes=1), count=7))
    yield created
    created.dispose()


def _person(s: Session, name: str, credential_count: int) -> None:
    user = User(
        username=name,
        created_at=NOW,
        factor_failures=2,
        factor_locked_until=NOW + timedelta(minutes=5),
        factor_blocked=name == "two",
    )
    s.add(user)
    s.flush()
    s.add(_credential(user.id, "revoked", 0))  # never read: not active
    for n in range(credential_count):
        s.add(_credential(user.id, "active", n))


def _credential(user_id: int, state: str, n: int) -> Credential:
    return Credential(
        user_id=user_id,
        kind="totp",
        label=f"phone {n}",
        state=state,
        is_default=n == 0,
        key_id="k1",
        secret=bytes([n]) * 40,
        params={"digits": 6, "period": 30, "n": n},
        created_at=NOW - timedelta(days=n),
        last_used_at=NOW if n == 1 else None,
        counter=41 if n == 1 else None,
    )


def _core_rows(s: Session, prepared: Prepared, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    result = s.execute(prepared.statement, params)
    assert tuple(result.keys()) == prepared.columns
    return [tuple(row) for row in result.all()]


@pytest.mark.parametrize("counters", [1, 2])
@pytest.mark.parametrize("name", ["nobody", "one", "two", "stranger"])
def test_the_factor_read_gives_the_rows_core_gives(store: Store, name: str, counters: int) -> None:
    keys = {"rate_key_0": "ip:192.0.2.1", "rate_key_1": "integration:1"}
    if counters == 1:
        del keys["rate_key_1"]
    params = {"username": name, "integration_id": 1, "key_digest": DIGEST, **keys}
    with store.write() as s:
        for read in (factors._BY_USERNAME[counters], factors._BY_USERNAME_AND_KEY[counters]):
            rows = read.prepared.rows(s, params)
            assert rows == _core_rows(s, read.prepared, params)
        user_id = s.scalar(select(User.id).where(User.username == name))
        by_id = {"user_id": user_id, **keys}
        prepared = factors._BY_ID[counters].prepared
        assert prepared.rows(s, by_id) == _core_rows(s, prepared, by_id)
    if name == "stranger":
        assert rows == []
        return
    assert len(rows) == {"nobody": 1, "one": 1, "two": 2}[name]
    at = factors._BY_USERNAME_AND_KEY[counters].prepared.index
    first = rows[0]
    assert first[at["factor_locked_until"]] == NOW + timedelta(minutes=5)
    assert first[at["factor_locked_until"]].tzinfo == UTC
    assert first[at["factor_blocked"]] is (name == "two")
    assert first[at["disabled"]] is False
    assert (first[at["rate_count_0"]], first[at["rate_window_start_0"]]) == (3, NOW)
    if counters == 2:
        second = (first[at["rate_count_1"]], first[at["rate_window_start_1"]])
        assert second == (7, NOW - timedelta(minutes=1))
    assert first[at["key_found"]] is True  # the integration's trust_client_ip
    if name == "nobody":
        assert first[at["credential_id"]] is None
        return
    for n, row in enumerate(rows):
        assert row[at["is_default"]] is (n == 0)
        assert row[at["params"]] == {"digits": 6, "period": 30, "n": n}
        assert row[at["secret"]] == bytes([n]) * 40
        assert row[at["created_at"]] == NOW - timedelta(days=n)
        assert row[at["created_at"]].tzinfo == UTC


def test_the_factor_subject_reads_lock_state_credentials_and_key(store: Store) -> None:
    both = ("ip:192.0.2.1", "integration:1")
    with store.write() as s:
        subject = factors.by_username(s, "two", rate_keys=both, key=(1, DIGEST))
        unknown_key = factors.by_username(s, "two", rate_keys=both, key=(1, "x" * 64))
        without_key = factors.by_username(s, "two", rate_keys=("ip:192.0.2.9",))
        with pytest.raises(ValueError, match="rate keys"):
            factors.by_username(s, "two", rate_keys=())
    assert subject is not None and unknown_key is not None and without_key is not None
    assert subject.lock.blocked is True and subject.lock.failures == 2
    assert subject.counters == ((3, NOW), (7, NOW - timedelta(minutes=1)))
    assert subject.key_found is True and subject.trusts_client_ip is True
    assert unknown_key.key_found is False and unknown_key.trusts_client_ip is False
    assert without_key.key_found is None and without_key.counters == (None,)
    second = subject.credentials[1]
    assert second.view.last_used_at == NOW and second.view.counter == 41
    assert second.sealed == bytes([1]) * 40 and second.view.params["n"] == 1


def _audit_row(at: datetime, user_agent: str) -> dict[str, Any]:
    return {
        "at": at,
        "event": "validate.rejected",
        "outcome": "failure",
        "user_id": 1,
        "actor": None,
        "door": "api",
        "ip": "192.0.2.1",
        "user_agent": user_agent,
        "method": "totp",
        "credential_id": None,
        "details": {"integration": "app", "status": "reject", "nested": [1, "två"]},
    }


def test_an_audit_row_written_raw_reads_back_as_core_writes_it(store: Store) -> None:
    at = NOW.astimezone(timezone(timedelta(hours=2)))  # stored as UTC, as the ORM stores it
    with store.write() as s:
        audit.add(s, **_audit_row(at, "raw"))
        s.execute(insert(AuditEvent), _audit_row(at, "core"))
    with store.read() as s:
        events = {e.user_agent: e for e in s.scalars(select(AuditEvent))}
        stored = s.execute(text("SELECT user_agent, at, details FROM audit_event")).all()
    raw, core = events["raw"], events["core"]
    assert raw.at == at and raw.at.tzinfo == UTC
    assert raw.details == {"integration": "app", "status": "reject", "nested": [1, "två"]}
    assert (raw.at, raw.details, raw.actor) == (core.at, core.details, core.actor)
    as_stored = {agent: (when, details) for agent, when, details in stored}
    assert as_stored["raw"] == as_stored["core"]  # the same text and JSON in the database


def test_the_compare_and_set_matches_once(store: Store) -> None:
    with store.write() as s:
        credential_id = s.scalars(select(Credential.id).where(Credential.counter == 41)).one()
        params = {
            "credential_id": credential_id,
            "new_counter": 42,
            "now": NOW,
            "zero_stays": False,
        }
        assert credentials._ADVANCE.execute(s, params) == 1
        assert credentials._ADVANCE.execute(s, params) == 0  # the replay
        assert credentials.advance_counter(s, credential_id, 43, NOW) is True
        assert credentials.advance_counter(s, credential_id, 43, NOW) is False
        assert credentials.advance_counter(s, credential_id, 40, NOW) is False
    with store.read() as s:
        row = s.get(Credential, credential_id)
        assert row is not None and row.counter == 43 and row.last_used_at == NOW


def test_the_upsert_returns_the_count(store: Store) -> None:
    with store.write() as s:
        assert ratelimit.hit(s, "ip:192.0.2.7", now=NOW, window=60) == 1
        assert ratelimit.hit(s, "ip:192.0.2.7", now=NOW, window=60) == 2
        assert ratelimit.current(s, "ip:192.0.2.7", now=NOW, window=60) == (2, NOW)
        later = NOW + timedelta(seconds=61)
        assert ratelimit.hit(s, "ip:192.0.2.7", now=later, window=60) == 1  # a new window
        assert ratelimit.current(s, "ip:192.0.2.8", now=NOW, window=60) == (0, NOW)


def test_it_runs_in_the_sessions_transaction(store: Store) -> None:
    with store.write() as s:
        audit.add(s, **_audit_row(NOW, "rolled back"))
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.user_agent == "rolled back"))
        s.rollback()
    with store.read() as s:
        assert s.scalar(select(AuditEvent.id)) is None


def test_first_and_scalar_give_none_without_a_row(store: Store) -> None:
    table = cast(Table, User.__table__)
    prepared = Prepared(select(table.c.id).where(table.c.username == bindparam("username")))
    with store.write() as s:
        assert prepared.first(s, {"username": "nobody"}) == (1,)
        assert prepared.scalar(s, {"username": "stranger"}) is None
        assert prepared.first(s, {"username": "stranger"}) is None


def test_errors_are_core_errors(store: Store) -> None:
    table = cast(Table, Integration.__table__)
    prepared = Prepared(
        insert(table)
        .values(
            name=bindparam("name"),
            key_hash=bindparam("key"),
            created_at=bindparam("at"),
            trust_client_ip=False,
        )
        .inline()
    )
    with store.write() as s:
        with pytest.raises(StatementError, match="A value is required for bind parameter 'key'"):
            prepared.execute(s, {"name": "other", "at": NOW})
        with pytest.raises(StatementError, match="naive datetime"):  # UtcDateTime's own check
            prepared.execute(s, {"name": "other", "key": "k", "at": datetime(2026, 1, 1)})
        s.rollback()
    with store.write() as s, pytest.raises(IntegrityError):
        prepared.execute(s, {"name": "app", "key": "k", "at": NOW})


def test_what_a_fixed_statement_cannot_carry_is_refused() -> None:
    table = cast(Table, User.__table__)
    expanding = select(table.c.id).where(table.c.username.in_(bindparam("names", expanding=True)))
    with pytest.raises(ArgumentError, match="expanding"):
        Prepared(expanding)
    with pytest.raises(ArgumentError, match="Python-side defaults"):
        Prepared(insert(table).values(username=bindparam("username")))
    implicit_returning = insert(cast(Table, Integration.__table__)).values(
        name=bindparam("name"),
        key_hash=bindparam("key"),
        created_at=bindparam("at"),
        trust_client_ip=False,
    )
    with pytest.raises(ArgumentError, match="implicit RETURNING"):
        Prepared(implicit_returning)._for(create_engine("postgresql+psycopg://").dialect)
    with pytest.raises(ArgumentError, match="returns rows"):
        factors._BY_ID[1].prepared.execute(cast(Session, None), {})
