"""A customer's language: every mail and cabinet text in it (app.kit.i18n).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("locale", sa.String(8), nullable=False, server_default="en"),
    )
    op.create_check_constraint("locale_supported", "customers", "locale IN ('en', 'ru')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_customers_locale_supported"), "customers", type_="check")
    op.drop_column("customers", "locale")
