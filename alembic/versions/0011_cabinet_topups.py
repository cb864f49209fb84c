"""The cabinet and top-ups: portal sessions (api_keys.expires_at), low-balance threshold

Revision ID: 0011
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("low_balance_threshold", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("low_balance_threshold")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
