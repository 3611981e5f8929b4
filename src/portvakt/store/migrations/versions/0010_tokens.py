"""The hardware-token inventory: OATH key fobs and YubiKeys imported by the operator, each
sealed bound to its kind and serial, until assigned to or claimed by a person.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portvakt.store.models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hardware_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=True),
        sa.Column(
            "imported_at",
            portvakt.store.models.base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("credential_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credential.id"],
            name=op.f("fk_hardware_token_credential_id_credential"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hardware_token")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_hardware_token_credential_id")),
        sa.UniqueConstraint("serial", name=op.f("uq_hardware_token_serial")),
    )


def downgrade() -> None:
    op.drop_table("hardware_token")
