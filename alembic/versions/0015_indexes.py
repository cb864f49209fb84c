"""Indexes: each one serves a query or keeps a uniqueness rule (issue 19)

Every index on a table a ticket submission writes costs PostgreSQL an entry per row
inserted (and per non-HOT update). The audit behind this revision is in
docs/architecture.md ("Indexes"); in short:

- dropped, no query looks them up: `journal_transactions.ticket_id`,
  `journal_lines.customer_id`, `journal_lines (account, unit)`, `ticket_slas.customer_id`;
- dropped, a prefix of another index: `tickets.customer_id`
  (`ix_tickets_customer_content` starts with it);
- partial (`WHERE col IS NOT NULL`), the column is mostly NULL and only ever compared with
  a value: `journal_transactions` purchase_id, refund_of and dedupe_key (the last two stay
  unique: a partial unique index refuses the same duplicates, NULLs never conflicted),
  `ticket_charges.refund_transaction_id` (unique), `lots` purchase_id and expires_at,
  `sla_events (ticket_id, kind, level)` (unique; only breaches and escalations have a level);
- narrowed: `lots (customer_id, remaining)` → `lots (customer_id)`: a charge changes
  `remaining`, and a changed indexed column rules out a HOT update, so every charge wrote a
  new entry into each index of `lots`;
- added: `lots.origin_lot_id`, partial (refund lots only), for `refund_outstanding`.

(Its SQLite branches, a copy-first rebuild of `journal_transactions`, were deleted when
PostgreSQL became the only engine; what it does on PostgreSQL did not change.)

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition."""
    return {"postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.drop_index("ix_tickets_customer_id", table_name="tickets")
    op.drop_index("ix_ticket_slas_customer_id", table_name="ticket_slas")

    op.drop_index("ix_sla_events_ticket_kind_level", table_name="sla_events")
    op.create_index(
        "ix_sla_events_ticket_kind_level",
        "sla_events",
        ["ticket_id", "kind", "level"],
        unique=True,
        **_where("level IS NOT NULL"),
    )

    op.drop_index("ix_lots_customer_open", table_name="lots")
    op.drop_index("ix_lots_expires_at", table_name="lots")
    op.drop_index("ix_lots_purchase_id", table_name="lots")
    op.create_index("ix_lots_customer_id", "lots", ["customer_id"])
    op.create_index(
        "ix_lots_expires_at", "lots", ["expires_at"], **_where("expires_at IS NOT NULL")
    )
    op.create_index(
        "ix_lots_purchase_id", "lots", ["purchase_id"], **_where("purchase_id IS NOT NULL")
    )
    op.create_index(
        "ix_lots_origin_lot_id", "lots", ["origin_lot_id"], **_where("origin_lot_id IS NOT NULL")
    )

    op.drop_index("ix_journal_lines_customer_id", table_name="journal_lines")
    op.drop_index("ix_journal_lines_account_unit", table_name="journal_lines")

    op.drop_index("ix_journal_transactions_ticket_id", table_name="journal_transactions")
    op.drop_index("ix_journal_transactions_purchase_id", table_name="journal_transactions")
    for column in ("dedupe_key", "refund_of"):
        op.drop_constraint(
            f"uq_journal_transactions_{column}", "journal_transactions", type_="unique"
        )
    for column in ("dedupe_key", "refund_of"):
        op.create_index(
            f"uq_journal_transactions_{column}",
            "journal_transactions",
            [column],
            unique=True,
            **_where(f"{column} IS NOT NULL"),
        )
    op.create_index(
        "ix_journal_transactions_purchase_id",
        "journal_transactions",
        ["purchase_id"],
        **_where("purchase_id IS NOT NULL"),
    )

    op.drop_constraint("uq_ticket_charges_refund_transaction_id", "ticket_charges", type_="unique")
    op.create_index(
        "uq_ticket_charges_refund_transaction_id",
        "ticket_charges",
        ["refund_transaction_id"],
        unique=True,
        **_where("refund_transaction_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_ticket_charges_refund_transaction_id", table_name="ticket_charges")
    op.create_unique_constraint(
        "uq_ticket_charges_refund_transaction_id", "ticket_charges", ["refund_transaction_id"]
    )

    op.drop_index("ix_journal_transactions_purchase_id", table_name="journal_transactions")
    for column in ("dedupe_key", "refund_of"):
        op.drop_index(f"uq_journal_transactions_{column}", table_name="journal_transactions")
    for column in ("dedupe_key", "refund_of"):
        op.create_unique_constraint(
            f"uq_journal_transactions_{column}", "journal_transactions", [column]
        )
    op.create_index("ix_journal_transactions_purchase_id", "journal_transactions", ["purchase_id"])
    op.create_index("ix_journal_transactions_ticket_id", "journal_transactions", ["ticket_id"])

    op.create_index("ix_journal_lines_account_unit", "journal_lines", ["account", "unit"])
    op.create_index("ix_journal_lines_customer_id", "journal_lines", ["customer_id"])

    op.drop_index("ix_lots_origin_lot_id", table_name="lots")
    op.drop_index("ix_lots_purchase_id", table_name="lots")
    op.drop_index("ix_lots_expires_at", table_name="lots")
    op.drop_index("ix_lots_customer_id", table_name="lots")
    op.create_index("ix_lots_purchase_id", "lots", ["purchase_id"])
    op.create_index("ix_lots_expires_at", "lots", ["expires_at"])
    op.create_index("ix_lots_customer_open", "lots", ["customer_id", "remaining"])

    op.drop_index("ix_sla_events_ticket_kind_level", table_name="sla_events")
    op.create_index(
        "ix_sla_events_ticket_kind_level", "sla_events", ["ticket_id", "kind", "level"], unique=True
    )

    op.create_index("ix_ticket_slas_customer_id", "ticket_slas", ["customer_id"])
    op.create_index("ix_tickets_customer_id", "tickets", ["customer_id"])
