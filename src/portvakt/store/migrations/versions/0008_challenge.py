"""One generic challenge table for every method kind replaces push_challenge: typed state,
bound by typed columns to a sign-in, a step-up session or a validate-API integration; the
method's own state (push: nonce, number digest, match mode, context) moves into ``data``.
Rows in flight are copied, so a push sent just before the upgrade can still be answered.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portvakt.store.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUSH_DATA = ("nonce", "number_digest", "match_mode", "digits", "choices", "context")


def _when() -> sa.Column:  # type: ignore[type-arg]
    return portvakt.store.models.base.UtcDateTime(timezone=True)  # type: ignore[return-value]


def upgrade() -> None:
    op.create_table(
        "challenge",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("signin_id", sa.String(length=64), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("credential_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("answered_at", _when(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_challenge_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_challenge_integration_id_integration"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge")),
    )
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.create_index("ix_challenge_user_state", ["user_id", "state"], unique=False)
        batch_op.create_index(
            "ix_challenge_user_kind_created", ["user_id", "kind", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_challenge_credential_id"), ["credential_id"])
    _copy_push_rows()
    with op.batch_alter_table("push_challenge", schema=None) as batch_op:
        batch_op.drop_index("ix_push_challenge_user_state")
        batch_op.drop_index(batch_op.f("ix_push_challenge_credential_id"))
    op.drop_table("push_challenge")


def _copy_push_rows() -> None:
    bind = op.get_bind()
    old = sa.Table("push_challenge", sa.MetaData(), autoload_with=bind)
    new = sa.Table("challenge", sa.MetaData(), autoload_with=bind)
    integrations = {row.id for row in bind.execute(sa.text("SELECT id FROM integration"))}
    for row in bind.execute(sa.select(old)).mappings():
        bound = row["signin_id"] or ""
        values = {
            "id": row["id"],
            "kind": "push",
            "user_id": row["user_id"],
            "purpose": row["purpose"],
            "state": row["state"],
            "credential_id": row["credential_id"],
            "data": {**{k: row[k] for k in PUSH_DATA}, "uv": bool(row["user_verified"])},
            "created_at": row["created_at"],
            "expires_at": row["expires_at"],
            "answered_at": row["answered_at"],
            "answered_by": row["answered_by"],
            "reason": row["reason"],
        }
        if row["purpose"] == "api":  # was "api:<integration id>:<random>"
            _, number, _rest = [*bound.split(":"), "", ""][:3]
            if not number.isdigit() or int(number) not in integrations:
                continue
            values["integration_id"] = int(number)
        elif row["purpose"] == "stepup":
            values["session_id"] = bound
        elif row["purpose"] == "signin":
            values["signin_id"] = bound
        bind.execute(sa.insert(new).values(**values))


def downgrade() -> None:
    op.create_table(
        "push_challenge",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("signin_id", sa.String(length=64), nullable=True),
        sa.Column("credential_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("number_digest", sa.String(length=64), nullable=False),
        sa.Column("match_mode", sa.String(length=8), nullable=False),
        sa.Column("digits", sa.Integer(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("answered_at", _when(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("user_verified", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_push_challenge_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_challenge")),
    )
    with op.batch_alter_table("push_challenge", schema=None) as batch_op:
        batch_op.create_index("ix_push_challenge_user_state", ["user_id", "state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_push_challenge_credential_id"), ["credential_id"], unique=False
        )
    # Challenges live for minutes: the generic rows are not copied back.
    with op.batch_alter_table("challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_credential_id"))
        batch_op.drop_index("ix_challenge_user_kind_created")
        batch_op.drop_index("ix_challenge_user_state")
    op.drop_table("challenge")
