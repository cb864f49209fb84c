"""Billing: purchases, payment events inbox

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("pack", sa.String(length=32), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("client_secret", sa.String(length=255), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("dispute_id", sa.String(length=255), nullable=True),
        sa.Column("dispute_status", sa.String(length=20), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("idempotency_scope", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_refunded >= 0", name=op.f("ck_purchases_refunded_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_purchases_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint(
            "idempotency_scope",
            "idempotency_key",
            name=op.f("uq_purchases_idempotency_scope_idempotency_key"),
        ),
        sa.UniqueConstraint("payment_intent_id", name=op.f("uq_purchases_payment_intent_id")),
    )
    op.create_index(op.f("ix_purchases_charge_id"), "purchases", ["charge_id"], unique=False)
    op.create_index(op.f("ix_purchases_customer_id"), "purchases", ["customer_id"], unique=False)
    op.create_index(op.f("ix_purchases_status"), "purchases", ["status"], unique=False)

    op.create_table(
        "payment_events",
        sa.Column(
            "id",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("purchase_id", sa.String(length=40), nullable=True),
        sa.Column("provider_created", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_payment_events_source_event_id")),
    )
    op.create_index(
        op.f("ix_payment_events_charge_id"), "payment_events", ["charge_id"], unique=False
    )
    op.create_index(
        op.f("ix_payment_events_payment_intent_id"),
        "payment_events",
        ["payment_intent_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_payment_events_purchase_id"), "payment_events", ["purchase_id"], unique=False
    )
    op.create_index(op.f("ix_payment_events_state"), "payment_events", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_payment_events_state"), table_name="payment_events")
    op.drop_index(op.f("ix_payment_events_purchase_id"), table_name="payment_events")
    op.drop_index(op.f("ix_payment_events_payment_intent_id"), table_name="payment_events")
    op.drop_index(op.f("ix_payment_events_charge_id"), table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_index(op.f("ix_purchases_status"), table_name="purchases")
    op.drop_index(op.f("ix_purchases_customer_id"), table_name="purchases")
    op.drop_index(op.f("ix_purchases_charge_id"), table_name="purchases")
    op.drop_table("purchases")
