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

SQLite cannot drop a table's inline UNIQUE constraint; the table is rebuilt. Alembic's batch
mode drops the old table before the copy exists, which a populated database refuses when
other tables reference it (`PRAGMA foreign_keys=ON`, and that pragma cannot change inside
the migration's transaction): `journal_transactions` (referenced by `journal_lines`) is
rebuilt copy-first instead, see `_rebuild_journal_transactions_on_sqlite`.

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
    """A partial index's condition, on both engines."""
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


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
    if _sqlite():
        _rebuild_journal_transactions_on_sqlite(inline_unique=False)
    else:
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

    # Nothing references ticket_charges: batch mode's rebuild on SQLite is safe here.
    with op.batch_alter_table("ticket_charges") as batch:
        batch.drop_constraint("uq_ticket_charges_refund_transaction_id", type_="unique")
    op.create_index(
        "uq_ticket_charges_refund_transaction_id",
        "ticket_charges",
        ["refund_transaction_id"],
        unique=True,
        **_where("refund_transaction_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_ticket_charges_refund_transaction_id", table_name="ticket_charges")
    with op.batch_alter_table("ticket_charges") as batch:
        batch.create_unique_constraint(
            "uq_ticket_charges_refund_transaction_id", ["refund_transaction_id"]
        )

    op.drop_index("ix_journal_transactions_purchase_id", table_name="journal_transactions")
    for column in ("dedupe_key", "refund_of"):
        op.drop_index(f"uq_journal_transactions_{column}", table_name="journal_transactions")
    if _sqlite():
        _rebuild_journal_transactions_on_sqlite(inline_unique=True)
    else:
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


# ---------------------------------------------------------------- SQLite only

_JOURNAL_TRANSACTION_COLUMNS = (
    "seq, id, kind, reason, customer_id, credits, balance_after, lot_id, ticket_id, "
    "ticket_number, purchase_id, reference, memo, refund_of, dedupe_key, actor, posted_at"
)


def _rebuild_journal_transactions_on_sqlite(*, inline_unique: bool) -> None:
    """Recreates `journal_transactions` with (`inline_unique`) or without the inline UNIQUE
    constraints on `dedupe_key` and `refund_of`, keeping its rows and its other indexes.

    Copy first, then drop, then recreate and refill: dropping the table deletes its rows,
    which `journal_lines`' foreign key counts as violations; with `defer_foreign_keys` they
    are checked at commit, and refilling the table resolves each of them (a journal line
    left without its transaction still fails the commit). The columns are those of
    migration 0002, which no later revision changed."""
    op.execute("PRAGMA defer_foreign_keys = ON")  # back OFF by itself at the commit
    op.execute(
        f"CREATE TEMP TABLE _journal_transactions_copy AS "
        f"SELECT {_JOURNAL_TRANSACTION_COLUMNS} FROM journal_transactions"
    )
    op.drop_table("journal_transactions")  # and its indexes
    unique = (
        [
            sa.UniqueConstraint("dedupe_key", name="uq_journal_transactions_dedupe_key"),
            sa.UniqueConstraint("refund_of", name="uq_journal_transactions_refund_of"),
        ]
        if inline_unique
        else []
    )
    op.create_table(
        "journal_transactions",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
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
            name="fk_journal_transactions_customer_id_customers",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_journal_transactions"),
        sa.UniqueConstraint("id", name="uq_journal_transactions_id"),
        *unique,
    )
    op.execute(
        f"INSERT INTO journal_transactions ({_JOURNAL_TRANSACTION_COLUMNS}) "
        f"SELECT {_JOURNAL_TRANSACTION_COLUMNS} FROM _journal_transactions_copy"
    )
    op.execute("DROP TABLE _journal_transactions_copy")
    op.create_index(
        "ix_journal_transactions_customer_seq", "journal_transactions", ["customer_id", "seq"]
    )
    op.create_index("ix_journal_transactions_posted_at", "journal_transactions", ["posted_at"])
