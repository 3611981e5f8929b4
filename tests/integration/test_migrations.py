"""Alembic: empty → head on SQLite and PostgreSQL, every revision down and up again, and the
schema at head equals the models (what ``alembic check`` verifies)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, text

from portvakt.store import migrate
from portvakt.store.models import Base


def test_empty_to_head_matches_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head(engine)
        assert migrate.pending_model_changes(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_every_revision_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine)
        revisions = migrate.revisions(engine)
        assert revisions and revisions[-1] == migrate.head(engine)
        migrate.downgrade(engine, "base")
        assert migrate.current(engine) is None
        assert "user_account" not in inspect(engine).get_table_names()
        for revision in revisions:
            migrate.upgrade(engine, revision)
            assert migrate.current(engine) == revision
        assert migrate.pending_model_changes(engine) == []
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_keeps_data(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO user_account (username, subject, display_name, disabled, "
                    "created_at, factor_failures, factor_lockouts, factor_blocked) "
                    "VALUES ('keep', 'k1', 'Keep Me', false, :now, 0, 0, false)"
                ),
                {"now": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            names = conn.execute(text("SELECT username FROM user_account")).scalars().all()
        assert names == ["keep"]
    finally:
        engine.dispose()


def test_0004_gives_existing_accounts_distinct_subjects(db_url: str) -> None:
    """Accounts made before OpenID Connect get a random ``sub`` each when 0004 runs."""
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine, "0003")
        with engine.begin() as conn:
            for name in ("anna", "berit"):
                conn.execute(
                    text(
                        "INSERT INTO user_account (username, display_name, disabled, created_at,"
                        " factor_failures, factor_lockouts, factor_blocked) "
                        "VALUES (:name, '', false, :now, 0, 0, false)"
                    ),
                    {"name": name, "now": datetime(2026, 1, 1, tzinfo=UTC)},
                )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            subjects = conn.execute(text("SELECT subject FROM user_account")).scalars().all()
        assert len(set(subjects)) == 2 and all(len(s) == 32 for s in subjects)
    finally:
        engine.dispose()


def test_0007_leaves_existing_integrations_untrusted_for_client_ip(db_url: str) -> None:
    """An integration made before 0007 ignores the client_ip it sends until an operator says
    otherwise; the name-lock table starts empty."""
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO integration (name, key_hash, created_at) "
                    "VALUES ('vpn', :hash, :now)"
                ),
                {"hash": "h" * 64, "now": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        migrate.upgrade(engine, "0007")
        with engine.connect() as conn:
            trusted = conn.execute(text("SELECT trust_client_ip FROM integration")).scalars()
            assert [bool(t) for t in trusted] == [False]
            assert conn.execute(text("SELECT count(*) FROM name_lock")).scalar() == 0
    finally:
        engine.dispose()


def test_0008_moves_push_requests_in_flight_into_the_generic_challenge_table(db_url: str) -> None:
    """Rows of push_challenge become challenge rows of kind push, bound by typed columns; an
    API request of an integration that no longer exists is dropped."""
    engine = create_engine(db_url)
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    try:
        migrate.upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO user_account (id, username, subject, display_name, disabled, "
                    "created_at, factor_failures, factor_lockouts, factor_blocked) "
                    "VALUES (1, 'alice', 's1', 'Alice', false, :now, 0, 0, false)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO integration (id, name, key_hash, created_at, trust_client_ip) "
                    "VALUES (4, 'vpn', :hash, :now, false)"
                ),
                {"hash": "h" * 64, "now": now},
            )
            bound = {
                "s": ("signin", "a" * 64, None),
                "u": ("stepup", "b" * 64, None),
                "p": ("api", "api:4:xyz", None),
                "g": ("api", "api:9:xyz", None),
                "a": ("activation", None, 7),
            }
            for tx, (purpose, signin_id, credential_id) in bound.items():
                conn.execute(
                    text(
                        "INSERT INTO push_challenge (id, user_id, signin_id, credential_id, "
                        "purpose, nonce, number_digest, match_mode, digits, choices, context, "
                        "state, created_at, expires_at, user_verified) VALUES (:id, 1, :signin, "
                        ":cred, :purpose, 'n', 'd', 'type', 2, '[]', '{}', 'pending', :now, "
                        ":now, false)"
                    ),
                    {
                        "id": f"tx-{tx}",
                        "signin": signin_id,
                        "cred": credential_id,
                        "purpose": purpose,
                        "now": now,
                    },
                )
        migrate.upgrade(engine, "0008")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, kind, purpose, signin_id, session_id, integration_id, "
                    "credential_id FROM challenge ORDER BY id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("tx-a", "push", "activation", None, None, None, 7),
            ("tx-p", "push", "api", None, None, 4, None),
            ("tx-s", "push", "signin", "a" * 64, None, None, None),
            ("tx-u", "push", "stepup", None, "b" * 64, None, None),
        ]
    finally:
        engine.dispose()
