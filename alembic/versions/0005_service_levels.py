"""Service levels: calendars, targets, SLA clocks, escalation

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger()
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sla_calendars",
        sa.Column("line", sa.String(length=30), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("line", name=op.f("pk_sla_calendars")),
    )
    op.create_table(
        "sla_targets",
        sa.Column("line", sa.String(length=30), nullable=False),
        sa.Column("severity", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("assignment_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("line", "severity", "category", name=op.f("pk_sla_targets")),
    )
    op.create_table(
        "ticket_slas",
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("paused_since", WHEN, nullable=True),
        sa.Column("paused_working_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_wall_seconds", sa.Integer(), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("first_response_at", WHEN, nullable=True),
        sa.Column("first_response_elapsed", sa.Integer(), nullable=True),
        sa.Column("first_response_breached", sa.Boolean(), nullable=False),
        sa.Column("assigned_at", WHEN, nullable=True),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("assignment_elapsed", sa.Integer(), nullable=True),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.Column("resolution_elapsed", sa.Integer(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("compensated_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_slas_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_slas")),
    )
    op.create_index(op.f("ix_ticket_slas_customer_id"), "ticket_slas", ["customer_id"])
    op.create_index("ix_ticket_slas_open", "ticket_slas", ["stopped", "escalation_level"])
    op.create_table(
        "sla_events",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("due_at", WHEN, nullable=True),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_sla_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sla_events")),
    )
    op.create_index("ix_sla_events_ticket_seq", "sla_events", ["ticket_id", "seq"])
    op.create_index(
        "ix_sla_events_ticket_kind_level", "sla_events", ["ticket_id", "kind", "level"], unique=True
    )
    op.create_table(
        "sla_urgent_periods",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("ended_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_sla_urgent_periods_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sla_urgent_periods")),
    )
    op.create_index(
        "ix_sla_urgent_periods_customer", "sla_urgent_periods", ["customer_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_table("sla_urgent_periods")
    op.drop_table("sla_events")
    op.drop_table("ticket_slas")
    op.drop_table("sla_targets")
    op.drop_table("sla_calendars")
