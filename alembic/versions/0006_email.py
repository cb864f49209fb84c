"""E-mail channel: contacts, inbound mail, outbox, attachments

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "email_contacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_email_contacts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_contacts")),
        sa.UniqueConstraint("email", name=op.f("uq_email_contacts_email")),
    )
    op.create_index(
        op.f("ix_email_contacts_customer_id"), "email_contacts", ["customer_id"], unique=False
    )

    op.create_table(
        "email_inbound",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("ticket_message_id", sa.String(length=40), nullable=True),
        _ts("received_at"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_email_inbound_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_email_inbound")),
        sa.UniqueConstraint("id", name=op.f("uq_email_inbound_id")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_email_inbound_dedupe_key")),
    )
    op.create_index("ix_email_inbound_message_id", "email_inbound", ["message_id"], unique=False)
    op.create_index(
        op.f("ix_email_inbound_ticket_id"), "email_inbound", ["ticket_id"], unique=False
    )

    op.create_table(
        "email_attachments",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["ticket_messages.id"],
            name=op.f("fk_email_attachments_message_id_ticket_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_email_attachments_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_email_attachments")),
        sa.UniqueConstraint("id", name=op.f("uq_email_attachments_id")),
    )
    op.create_index(
        op.f("ix_email_attachments_message_id"), "email_attachments", ["message_id"], unique=False
    )
    op.create_index(
        op.f("ix_email_attachments_ticket_id"), "email_attachments", ["ticket_id"], unique=False
    )

    op.create_table(
        "email_outbox",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("sent_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_email_outbox_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_email_outbox_id")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_outbox_message_id")),
    )
    op.create_index(
        "ix_email_outbox_status_due", "email_outbox", ["status", "next_attempt_at"], unique=False
    )
    op.create_index(
        "ix_email_outbox_recipient_created",
        "email_outbox",
        ["recipient", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_email_outbox_ticket_id"), "email_outbox", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("email_outbox")
    op.drop_table("email_attachments")
    op.drop_table("email_inbound")
    op.drop_table("email_contacts")
