"""The credential repository's state changes that a verdict asks for: a sign count that stays
0, a one-time code used once, new params, a use noted, an out-of-band activation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portvakt.store.db import Store
from portvakt.store.models import Base, Credential, User
from portvakt.store.repos import credentials

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    created = Store(db_url)
    Base.metadata.create_all(created.engine)
    with created.write() as s:
        user = User(username="alice", created_at=NOW)
        s.add(user)
        s.flush()
        for state, default in (("active", True), ("pending", False)):
            s.add(
                Credential(
                    user_id=user.id,
                    kind="key",
                    label="",
                    state=state,
                    is_default=default,
                    key_id="k1",
                    secret=b"s" * 20,
                    params={"n": 1},
                    created_at=NOW,
                )
            )
    yield created
    created.dispose()


def _ids(store: Store) -> tuple[int, int]:
    with store.read() as s:
        active, pending = s.scalars(select(Credential.id).order_by(Credential.id)).all()
    return active, pending


def test_a_sign_count_of_zero_may_stay_zero_only_when_asked(store: Store) -> None:
    active, _ = _ids(store)
    with store.write() as s:
        assert credentials.advance_counter(s, active, 0, NOW, zero_stays=True) is True  # first
        assert credentials.advance_counter(s, active, 0, NOW, zero_stays=True) is True  # stays 0
        assert credentials.advance_counter(s, active, 0, NOW) is False  # a TOTP step cannot
        assert credentials.advance_counter(s, active, 5, NOW, zero_stays=True) is True
        assert credentials.advance_counter(s, active, 0, NOW, zero_stays=True) is False  # back


def test_a_one_time_code_is_used_once(store: Store) -> None:
    active, _ = _ids(store)
    with store.write() as s:
        assert credentials.consume(s, active, "c1", NOW) is True
        assert credentials.consume(s, active, "c1", NOW) is False
        assert credentials.consume(s, active, "c2", NOW) is True
        assert credentials.consume(s, 999, "c1", NOW) is False
    with store.read() as s:
        row = s.get(Credential, active)
        assert row is not None and row.params["used"] == ["c1", "c2"] and row.last_used_at == NOW


def test_a_use_and_new_params_are_noted(store: Store) -> None:
    active, _ = _ids(store)
    with store.write() as s:
        assert credentials.touch(s, active, NOW, params={"n": 2}) is True
        assert credentials.touch(s, 999, NOW) is False
        credentials.set_params(s, active, {"n": 3}, label="Key")
        credentials.set_params(s, 999, {"n": 3})
    with store.read() as s:
        row = s.get(Credential, active)
        assert row is not None and row.params == {"n": 3} and row.label == "Key"
        assert row.secret is None and row.last_used_at == NOW


def test_an_out_of_band_activation_makes_it_active_but_not_default(store: Store) -> None:
    active, pending = _ids(store)
    with store.write() as s:
        assert credentials.mark_used(s, pending, NOW, activate=True, params={"d": 1}) is True
        assert credentials.mark_used(s, pending, NOW, activate=True) is False  # already active
        assert credentials.mark_used(s, 999, NOW, activate=True) is False
        assert credentials.get_by_id(s, active) is not None
    with store.read() as s:
        row = s.get(Credential, pending)
        assert row is not None and (row.state, row.is_default, row.params) == (
            "active",
            False,
            {"d": 1},
        )
