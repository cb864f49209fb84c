"""ORM models of service levels (imported by app.models); schema: migration 0005.

Calendars and targets hold the admin's overrides: a line or a (line, severity, category)
without a row uses the policy defaults of app.desk.sla.policy. `ticket_slas` is the clock
of one ticket; `sla_events` is its service-level history (pauses, first response,
assignment, escalations, compensation), append-only."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import BigIntPK, UTCDateTime


class Category(StrEnum):
    product_issue = "product_issue"
    third_party = "third_party"


class EventKind(StrEnum):
    started = "started"
    paused = "paused"
    resumed = "resumed"
    first_response = "first_response"
    assigned = "assigned"
    resolved = "resolved"
    reopened = "reopened"
    breached = "breached"
    escalated = "escalated"
    compensated = "compensated"


class SlaCalendar(Base):
    """A line's business hours: `hours` is `[[weekday, "HH:MM", "HH:MM"], …]`."""

    __tablename__ = "sla_calendars"

    line: Mapped[str] = mapped_column(String(30), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[list[Any]] = mapped_column(JSON)
    holidays: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SlaTarget(Base):
    """Targets in working minutes for one line, severity and category."""

    __tablename__ = "sla_targets"

    line: Mapped[str] = mapped_column(String(30), primary_key=True)
    severity: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    assignment_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketSla(Base):
    """One ticket's clock. Changed only under the ticket's lock. `*_elapsed` are working
    seconds at the moment the target was met; pauses are kept both as working seconds
    (for targets) and wall seconds (for escalation, which counts elapsed time)."""

    __tablename__ = "ticket_slas"
    __table_args__ = (Index("ix_ticket_slas_open", "stopped", "escalation_level"),)

    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_working_seconds: Mapped[int] = mapped_column(Integer, default=0)
    paused_wall_seconds: Mapped[int] = mapped_column(Integer, default=0)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_response_elapsed: Mapped[int | None] = mapped_column(Integer)
    first_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assignee: Mapped[str | None] = mapped_column(String(100))
    assignment_elapsed: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_elapsed: Mapped[int | None] = mapped_column(Integer)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    compensated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SlaEvent(Base):
    """A step of a ticket's service-level history. An escalation level is recorded once
    per ticket (unique index), whatever number of workers run the sweep."""

    __tablename__ = "sla_events"
    __table_args__ = (
        Index("ix_sla_events_ticket_seq", "ticket_id", "seq"),
        # Only breaches and escalations have a level (NULLs never conflicted): the other
        # events need no entry here.
        Index(
            "ix_sla_events_ticket_kind_level",
            "ticket_id",
            "kind",
            "level",
            unique=True,
            postgresql_where=text("level IS NOT NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UrgentPeriod(Base):
    """While a customer's named most-urgent ticket is open, the targets of their other
    tickets are extended by the working time that passes (seed 000)."""

    __tablename__ = "sla_urgent_periods"
    __table_args__ = (Index("ix_sla_urgent_periods_customer", "customer_id", "started_at"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # False: the default one, the customer's last ticket (seed 000; migration 0012);
    # true or null (older rows): named by the customer.
    named: Mapped[bool | None] = mapped_column(Boolean)
