"""Purchases: dispute reason and the amount a lost dispute took back (issue 20)

Revision ID: 0013
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("dispute_reason", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column("amount_disputed", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("amount_disputed")
        batch.drop_column("dispute_reason")
