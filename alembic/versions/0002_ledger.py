"""Credit ledger: wallets, lots, journal, spend

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lines are append-only, and every transaction balances per unit when it commits.
JOURNAL_TRIGGERS = [
    """
CREATE FUNCTION journal_lines_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal_lines are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$
""",
    """
CREATE TRIGGER journal_lines_append_only
    BEFORE UPDATE OR DELETE ON journal_lines
    FOR EACH ROW EXECUTE FUNCTION journal_lines_refuse_change()
""",
    """
CREATE FUNCTION journal_transaction_check_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM journal_lines WHERE transaction_seq = NEW.transaction_seq
        GROUP BY unit HAVING SUM(amount) <> 0
    ) THEN
        RAISE EXCEPTION 'journal transaction % does not balance', NEW.transaction_seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE CONSTRAINT TRIGGER journal_lines_balanced
    AFTER INSERT ON journal_lines DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION journal_transaction_check_balance()
""",
]

DROP_JOURNAL_TRIGGERS = [
    """DROP TRIGGER IF EXISTS journal_lines_balanced ON journal_lines""",
    "DROP TRIGGER IF EXISTS journal_lines_append_only ON journal_lines",
    "DROP FUNCTION IF EXISTS journal_transaction_check_balance()",
    "DROP FUNCTION IF EXISTS journal_lines_refuse_change()",
]


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("frozen", sa.Integer(), nullable=False),
        sa.Column("spend_total", sa.BigInteger(), nullable=False),
        sa.Column("rewarded_credits", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("available >= 0", name=op.f("ck_wallets_available_not_negative")),
        sa.CheckConstraint("frozen >= 0", name=op.f("ck_wallets_frozen_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_wallets_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_wallets")),
    )

    op.create_table(
        "lots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("frozen", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("value_remaining", sa.BigInteger(), nullable=False),
        sa.Column("unit_value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cash_account", sa.String(length=40), nullable=True),
        sa.Column("purchase_id", sa.String(length=40), nullable=True),
        sa.Column("origin_lot_id", sa.String(length=40), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("frozen >= 0", name=op.f("ck_lots_frozen_not_negative")),
        sa.CheckConstraint(
            "remaining + frozen <= credits", name=op.f("ck_lots_held_within_credits")
        ),
        sa.CheckConstraint("remaining >= 0", name=op.f("ck_lots_remaining_not_negative")),
        sa.CheckConstraint("value_remaining >= 0", name=op.f("ck_lots_value_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_lots_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
    )
    op.create_index("ix_lots_customer_open", "lots", ["customer_id", "remaining"], unique=False)
    op.create_index(op.f("ix_lots_expires_at"), "lots", ["expires_at"], unique=False)
    op.create_index(op.f("ix_lots_purchase_id"), "lots", ["purchase_id"], unique=False)

    op.create_table(
        "journal_transactions",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=True),
        sa.Column("lot_id", sa.String(length=40), nullable=True),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("ticket_number", sa.Integer(), nullable=True),
        sa.Column("purchase_id", sa.String(length=40), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("refund_of", sa.String(length=40), nullable=True),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("actor", sa.String(length=40), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_journal_transactions_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal_transactions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_journal_transactions_dedupe_key")),
        sa.UniqueConstraint("id", name=op.f("uq_journal_transactions_id")),
        sa.UniqueConstraint("refund_of", name=op.f("uq_journal_transactions_refund_of")),
    )
    op.create_index(
        "ix_journal_transactions_customer_seq",
        "journal_transactions",
        ["customer_id", "seq"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journal_transactions_posted_at"),
        "journal_transactions",
        ["posted_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journal_transactions_purchase_id"),
        "journal_transactions",
        ["purchase_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_journal_transactions_ticket_id"),
        "journal_transactions",
        ["ticket_id"],
        unique=False,
    )

    op.create_table(
        "journal_lines",
        sa.Column(
            "id",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("transaction_seq", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("lot_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["transaction_seq"],
            ["journal_transactions.seq"],
            name=op.f("fk_journal_lines_transaction_seq_journal_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_lines")),
    )
    op.create_index(
        "ix_journal_lines_account_unit", "journal_lines", ["account", "unit"], unique=False
    )
    op.create_index(
        op.f("ix_journal_lines_customer_id"), "journal_lines", ["customer_id"], unique=False
    )
    op.create_index(op.f("ix_journal_lines_lot_id"), "journal_lines", ["lot_id"], unique=False)
    op.create_index(
        op.f("ix_journal_lines_transaction_seq"), "journal_lines", ["transaction_seq"], unique=False
    )

    op.create_table(
        "spend_records",
        sa.Column(
            "id",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_spend_records_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_records")),
        sa.UniqueConstraint(
            "customer_id", "reference", name=op.f("uq_spend_records_customer_id_reference")
        ),
    )

    for statement in JOURNAL_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_JOURNAL_TRIGGERS:
        op.execute(statement)
    op.drop_table("spend_records")
    op.drop_table("journal_lines")
    op.drop_table("journal_transactions")
    op.drop_table("lots")
    op.drop_table("wallets")
