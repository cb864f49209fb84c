"""A session's parent key: revoking a staff key ends the console sessions it opened.

A console session (`cds_…`, app.console) is an `api_keys` row of its own, minted by a
long-lived staff key. Without a link, revoking that key (a member of staff who leaves)
left their open sessions working until they expired (8 h by default). `parent_key_id`
names the key that opened a session; revoking a key revokes its sessions in the same
transaction.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("parent_key_id", sa.String(40), sa.ForeignKey("api_keys.id"), nullable=True),
    )
    op.create_index("ix_api_keys_parent_key_id", "api_keys", ["parent_key_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_parent_key_id", table_name="api_keys")
    op.drop_column("api_keys", "parent_key_id")
