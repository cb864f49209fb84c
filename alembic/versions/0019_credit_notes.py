"""Credit notes of refunds and lost disputes, numbered per year apart from receipts
(issue 27)

Revision ID: 0019
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0019"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_note_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_credit_note_counters")),
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source_key", sa.String(length=300), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("purchase_id", sa.String(length=40), nullable=False),
        sa.Column("receipt_number", sa.String(length=20), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seller_name", sa.String(length=200), nullable=False),
        sa.Column("seller_address", sa.String(length=500), nullable=False),
        sa.Column("seller_tax_id", sa.String(length=64), nullable=True),
        sa.Column("buyer_name", sa.String(length=200), nullable=False),
        sa.Column("buyer_email", sa.String(length=320), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("vat", sa.BigInteger(), nullable=False),
        sa.Column("vat_rate", sa.String(length=12), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "gross > 0 AND vat >= 0 AND net = gross - vat", name=op.f("ck_credit_notes_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_credit_notes_purchase_id_purchases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
        sa.UniqueConstraint("source_key", name=op.f("uq_credit_notes_source_key")),
        sa.UniqueConstraint("year", "seq", name=op.f("uq_credit_notes_year_seq")),
    )
    op.create_index(op.f("ix_credit_notes_customer_id"), "credit_notes", ["customer_id"])
    op.create_index(op.f("ix_credit_notes_purchase_id"), "credit_notes", ["purchase_id"])


def downgrade() -> None:
    op.drop_table("credit_notes")
    op.drop_table("credit_note_counters")
