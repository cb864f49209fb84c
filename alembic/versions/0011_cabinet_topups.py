"""The cabinet and top-ups: portal sessions (api_keys.expires_at), low-balance threshold,
auto top-up settings and claimed top-ups, receipts

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
    op.create_table(
        "auto_top_ups",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("pack", sa.String(length=32), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_customer_id", sa.String(length=255), nullable=True),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("payment_method_brand", sa.String(length=40), nullable=True),
        sa.Column("payment_method_last4", sa.String(length=4), nullable=True),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_auto_top_ups_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_auto_top_ups")),
    )
    op.create_table(
        "top_ups",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("crossing_entry", sa.String(length=40), nullable=False),
        sa.Column("pack", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("purchase_id", sa.String(length=40), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_top_ups_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_top_ups")),
        sa.UniqueConstraint("crossing_entry", name=op.f("uq_top_ups_crossing_entry")),
    )
    op.create_index(op.f("ix_top_ups_customer_id"), "top_ups", ["customer_id"])
    op.create_index(
        "ix_top_ups_open",
        "top_ups",
        ["created_at"],
        postgresql_where=sa.text("status IN ('pending', 'charging')"),
    )

    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("receipt_number", sa.String(length=20), nullable=True))
        batch.create_unique_constraint(op.f("uq_purchases_receipt_number"), ["receipt_number"])
    op.create_table(
        "receipt_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_receipt_counters")),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seller_name", sa.String(length=200), nullable=False),
        sa.Column("seller_address", sa.String(length=500), nullable=False),
        sa.Column("seller_tax_id", sa.String(length=64), nullable=True),
        sa.Column("buyer_name", sa.String(length=200), nullable=False),
        sa.Column("buyer_email", sa.String(length=320), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("vat_rate", sa.String(length=12), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_receipts_purchase_id_purchases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("number", name=op.f("uq_receipts_number")),
        sa.UniqueConstraint("purchase_id", name=op.f("uq_receipts_purchase_id")),
        sa.UniqueConstraint("year", "seq", name=op.f("uq_receipts_year_seq")),
    )
    op.create_index(op.f("ix_receipts_customer_id"), "receipts", ["customer_id"])


def downgrade() -> None:
    op.drop_table("receipts")
    op.drop_table("receipt_counters")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_constraint(op.f("uq_purchases_receipt_number"), type_="unique")
        batch.drop_column("receipt_number")
    op.drop_table("top_ups")
    op.drop_table("auto_top_ups")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("low_balance_threshold")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
