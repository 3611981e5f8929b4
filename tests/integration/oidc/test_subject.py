"""``sub`` is random per account: a new account never inherits a deleted one's, even where
the database reuses the row id (SQLite does, for the highest id)."""

from __future__ import annotations

from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.core import users
from portvakt.core.oidc import claims
from portvakt.domain import Door
from portvakt.store.models import User
from tests.conftest import PASSWORD


def test_a_new_account_never_gets_a_deleted_accounts_sub(runtime: Runtime) -> None:
    ctx = runtime.context(Door.CLI, actor="test")

    def add(name: str) -> tuple[int, str]:
        made = users.add(runtime.core, ctx, username=name, password=PASSWORD)
        with runtime.core.store.read() as s:
            row = s.scalars(select(User).where(User.id == made.id)).one()
            return row.id, claims.subject(row)

    add("anna")
    berit_id, berit_sub = add("berit")
    users.delete(runtime.core, ctx, "berit")
    carl_id, carl_sub = add("carl")
    assert carl_sub != berit_sub and len(carl_sub) == 32
    assert carl_id >= berit_id  # the id may come back (SQLite); the subject does not
