"""Desk: tickets, messages, transfers

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Ticket numbers: a real sequence, owned by the column (so that `TRUNCATE … RESTART
# IDENTITY` resets it too).
TICKET_NUMBER_SEQUENCE = "ticket_number_seq"


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("line", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("bug_reference", sa.String(length=255), nullable=True),
        sa.Column("merged_into", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_tickets_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["tickets.id"], name=op.f("fk_tickets_merged_into_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    op.create_index(op.f("ix_tickets_customer_id"), "tickets", ["customer_id"], unique=False)
    op.create_index(
        "ix_tickets_customer_content",
        "tickets",
        ["customer_id", "content_hash", "created_at"],
        unique=False,
    )
    op.create_index("ix_tickets_line_status", "tickets", ["line", "status"], unique=False)

    op.create_table(
        "ticket_messages",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("author_role", sa.String(length=20), nullable=False),
        sa.Column("author_key_id", sa.String(length=40), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_messages_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ticket_messages")),
        sa.UniqueConstraint("id", name=op.f("uq_ticket_messages_id")),
    )
    op.create_index(
        "ix_ticket_messages_ticket_seq", "ticket_messages", ["ticket_id", "seq"], unique=False
    )

    op.create_table(
        "ticket_charges",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=True),
        sa.Column("refund_reason", sa.String(length=20), nullable=True),
        sa.Column("refund_reference", sa.String(length=255), nullable=True),
        sa.Column("refund_transaction_id", sa.String(length=40), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_charges_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ticket_charges")),
        sa.UniqueConstraint(
            "refund_transaction_id", name=op.f("uq_ticket_charges_refund_transaction_id")
        ),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_ticket_charges_transaction_id")),
    )
    op.create_index(
        "ix_ticket_charges_ticket_seq", "ticket_charges", ["ticket_id", "seq"], unique=False
    )

    op.execute(f"CREATE SEQUENCE {TICKET_NUMBER_SEQUENCE} OWNED BY tickets.number")


def downgrade() -> None:
    op.drop_table("ticket_charges")
    op.drop_table("ticket_messages")
    op.drop_table("tickets")  # drops the sequence it owns
    op.execute(f"DROP SEQUENCE IF EXISTS {TICKET_NUMBER_SEQUENCE}")
