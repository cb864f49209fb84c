"""Rate-limit counters shared by every worker (app.kit.ratelimit)

Revision ID: 0008
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
    op.create_index(op.f("ix_rate_limits_window_start"), "rate_limits", ["window_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limits_window_start"), table_name="rate_limits")
    op.drop_table("rate_limits")
