"""Outbound webhooks, partner scopes and metadata

Events get the writing transaction's id (safe keyset paging on PostgreSQL); webhook
endpoints and their deliveries (the outbox); customers get `parent_id` (a partner's end
customers); customers, tickets and purchases get `metadata`; customers and tickets are
listed by `updated_at`.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
    op.create_index("ix_events_txid_seq", "events", ["txid", "seq"])
    op.create_index("ix_events_created_at", "events", ["created_at"])

    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("metadata", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_customers_parent_id_customers"), "customers", ["parent_id"], ["id"]
        )
    op.create_index("ix_customers_parent_id", "customers", ["parent_id"])
    op.create_index("ix_customers_updated_at", "customers", ["updated_at"])

    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("metadata", sa.JSON(), nullable=True))
    op.create_index("ix_tickets_updated_at", "tickets", ["updated_at"])

    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("metadata", sa.JSON(), nullable=True))

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("scope_customer_id", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scope_customer_id"],
            ["customers.id"],
            name=op.f("fk_webhook_endpoints_scope_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        "ix_webhook_endpoints_scope_customer_id", "webhook_endpoints", ["scope_customer_id"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("id", name=op.f("uq_webhook_deliveries_id")),
        sa.UniqueConstraint(
            "endpoint_id", "event_id", name=op.f("uq_webhook_deliveries_endpoint_id_event_id")
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_seq", "webhook_deliveries", ["endpoint_id", "seq"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_column("metadata")
    op.drop_index("ix_tickets_updated_at", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("metadata")
    op.drop_index("ix_customers_updated_at", table_name="customers")
    op.drop_index("ix_customers_parent_id", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint(op.f("fk_customers_parent_id_customers"), type_="foreignkey")
        batch.drop_column("metadata")
        batch.drop_column("parent_id")
    op.drop_index("ix_events_created_at", table_name="events")
    op.drop_index("ix_events_txid_seq", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("txid")
