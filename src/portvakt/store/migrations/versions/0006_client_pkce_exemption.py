"""oidc_client.allow_without_pkce: a confidential client exempt from PKCE (it must send a
nonce instead); off for every existing client

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allow_without_pkce", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.drop_column("allow_without_pkce")
