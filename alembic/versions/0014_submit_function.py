"""A ticket submission in one call on PostgreSQL

`desk_submit_ticket_v1` (app.desk.submit_sql) writes a whole submission in one round trip;
`config_versions` and its triggers let each process cache the submission's configuration
(SLA calendars and targets, contract levels, products) and know when it went stale.

Revision ID: 0014
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from app.desk.submit_sql import (
    BUMP_CONFIG_FUNCTION,
    CONFIG_TABLES,
    DROP_SUBMIT_TICKET_V1,
    SUBMIT_TICKET_V1,
)

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_config_versions")),
    )
    op.execute("INSERT INTO config_versions (name, version) VALUES ('desk', 1)")
    op.execute(BUMP_CONFIG_FUNCTION)
    for table in CONFIG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_bump_desk_config AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION desk_config_bump()"
        )
    op.get_bind().exec_driver_sql(SUBMIT_TICKET_V1)  # as is: its `:available` is no parameter


def downgrade() -> None:
    op.execute(DROP_SUBMIT_TICKET_V1)
    for table in CONFIG_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_desk_config ON {table}")
    op.execute("DROP FUNCTION IF EXISTS desk_config_bump()")
    op.drop_table("config_versions")
