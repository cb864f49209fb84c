"""The language of each outgoing mail (its Content-Language header); mail queued before
this was all English.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "email_outbox",
        sa.Column("locale", sa.String(8), nullable=False, server_default="en"),
    )


def downgrade() -> None:
    op.drop_column("email_outbox", "locale")
