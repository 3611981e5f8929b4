"""integration.trust_client_ip (off for every existing integration), and name_lock: the
second-factor lock state of names that are not a live person, under a keyed hash

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portvakt.store.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trust_client_ip", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "name_lock",
        sa.Column("name_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column(
            "locked_until", portvakt.store.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", portvakt.store.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("name_hash", name=op.f("pk_name_lock")),
    )
    with op.batch_alter_table("name_lock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_name_lock_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("name_lock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_name_lock_updated_at"))
    op.drop_table("name_lock")
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.drop_column("trust_client_ip")
