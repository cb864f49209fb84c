"""ORM models of the desk: tickets, their messages and their charges (imported by app.models).

The schema is created by alembic/versions/0003_desk.py; the two must match exactly."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import BigIntPK, UTCDateTime

# Ticket numbers come from this sequence (created by the migration, owned by tickets.number).
TICKET_NUMBER_SEQUENCE = "ticket_number_seq"


class Line(StrEnum):
    customer_relations = "customer_relations"
    technical = "technical"


class Status(StrEnum):
    open = "open"
    awaiting_approval = "awaiting_approval"
    in_progress = "in_progress"
    waiting_on_customer = "waiting_on_customer"
    resolved = "resolved"
    closed = "closed"


class ChargeReason(StrEnum):
    ticket = "ticket"
    partner = "partner"


class RefundReason(StrEnum):
    misrouted = "misrouted"
    out_of_scope = "out_of_scope"
    merged = "merged"
    product_bug = "product_bug"
    sla_breach = "sla_breach"  # a missed first response, when compensation is on


class Ticket(Base):
    """One problem of one customer. Its row is the lock every charge or refund takes."""

    __tablename__ = "tickets"
    __table_args__ = (
        # Also serves every other lookup by customer_id (its first column).
        Index("ix_tickets_customer_content", "customer_id", "content_hash", "created_at"),
        Index("ix_tickets_line_status", "line", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    line: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    severity: Mapped[int] = mapped_column(Integer)
    product: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[str | None] = mapped_column(String(50))  # seed 002; migration 0012
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    bug_reference: Mapped[str | None] = mapped_column(String(255))
    merged_into: Mapped[str | None] = mapped_column(String(40), ForeignKey("tickets.id"))
    created_by: Mapped[str | None] = mapped_column(String(40))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TicketMessage(Base):
    """A message on a ticket; `internal` notes are for staff only."""

    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_ticket_seq", "ticket_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"))
    author_role: Mapped[str] = mapped_column(String(20))
    author_key_id: Mapped[str | None] = mapped_column(String(40))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketCharge(Base):
    """What a ticket cost when it reached the technical line. `transaction_id` is the
    ledger's charge (none for partners' 0-credit charges); a refund is recorded here and
    in the ledger, at most once per charge."""

    __tablename__ = "ticket_charges"
    __table_args__ = (
        Index("ix_ticket_charges_ticket_seq", "ticket_id", "seq"),
        # Unique where set (a charge is refunded at most once); NULL until then.
        Index(
            "uq_ticket_charges_refund_transaction_id",
            "refund_transaction_id",
            unique=True,
            postgresql_where=text("refund_transaction_id IS NOT NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"))
    credits: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    refund_reason: Mapped[str | None] = mapped_column(String(20))
    refund_reference: Mapped[str | None] = mapped_column(String(255))
    refund_transaction_id: Mapped[str | None] = mapped_column(String(40))
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConfigVersion(Base):
    """A counter per cached configuration: `desk` covers what a submission reads from the
    per-process cache (`app.desk.fast_submit`): SLA calendars and targets, contract levels
    and products. On PostgreSQL a trigger on each of those tables bumps it in the changing
    transaction, and the submission function refuses a call made with an older version."""

    __tablename__ = "config_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
