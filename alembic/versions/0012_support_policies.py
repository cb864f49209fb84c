"""Support policies of issue 16: products and versions (seed 002), a ticket's version,
contract levels (seeds 004, 001), phone calls (seed 000),
small-change hours (seed 001), expected completion (seed 000)

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("name_key", name=op.f("uq_products_name_key")),
    )
    op.create_table(
        "product_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_versions_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_versions")),
    )
    op.create_index(
        "ix_product_versions_product_version",
        "product_versions",
        ["product_id", "version"],
        unique=True,
    )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("version", sa.String(length=50), nullable=True))

    op.create_table(
        "contract_levels",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_levels")),
        sa.UniqueConstraint("name", name=op.f("uq_contract_levels_name")),
    )
    op.create_table(
        "contract_level_targets",
        sa.Column("level_id", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["level_id"],
            ["contract_levels.id"],
            name=op.f("fk_contract_level_targets_level_id_contract_levels"),
        ),
        sa.PrimaryKeyConstraint(
            "level_id", "severity", "category", name=op.f("pk_contract_level_targets")
        ),
    )
    op.create_table(
        "customer_contract_levels",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("level_id", sa.String(length=40), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_contract_levels_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["level_id"],
            ["contract_levels.id"],
            name=op.f("fk_customer_contract_levels_level_id_contract_levels"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_contract_levels")),
    )
    op.create_index(
        "ix_customer_contract_levels_level_id", "customer_contract_levels", ["level_id"]
    )

    op.create_table(
        "customer_calls",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=500), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_calls_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_customer_calls_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_calls")),
    )
    op.create_index("ix_customer_calls_customer_day", "customer_calls", ["customer_id", "day"])
    with op.batch_alter_table("sla_urgent_periods") as batch:
        batch.add_column(sa.Column("named", sa.Boolean(), nullable=True))

    op.create_table(
        "change_allowances",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("minutes_per_month", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_change_allowances_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_change_allowances")),
    )
    op.create_table(
        "work_logs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("over_minutes", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_work_logs_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_work_logs_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_logs")),
    )
    op.create_index("ix_work_logs_customer_month", "work_logs", ["customer_id", "month"])
    op.create_index(op.f("ix_work_logs_ticket_id"), "work_logs", ["ticket_id"])

    op.create_table(
        "ticket_plans",
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("expected_completion_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_plans_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_plans")),
    )


def downgrade() -> None:
    op.drop_table("ticket_plans")
    op.drop_index(op.f("ix_work_logs_ticket_id"), table_name="work_logs")
    op.drop_index("ix_work_logs_customer_month", table_name="work_logs")
    op.drop_table("work_logs")
    op.drop_table("change_allowances")
    with op.batch_alter_table("sla_urgent_periods") as batch:
        batch.drop_column("named")
    op.drop_index("ix_customer_calls_customer_day", table_name="customer_calls")
    op.drop_table("customer_calls")
    op.drop_index("ix_customer_contract_levels_level_id", table_name="customer_contract_levels")
    op.drop_table("customer_contract_levels")
    op.drop_table("contract_level_targets")
    op.drop_table("contract_levels")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("version")
    op.drop_index("ix_product_versions_product_version", table_name="product_versions")
    op.drop_table("product_versions")
    op.drop_table("products")
