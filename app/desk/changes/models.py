"""ORM models of small-change hours (imported by app.models); schema: migration 0012.

Seed 001 §2.4: "adding small changes in functionality … The allotted time for working on
changes does not exceed 10 hours per month". A monthly allowance per customer (the
setting, or an override here), used up by work logged on tickets; no carry-over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import UTCDateTime


class ChangeAllowance(Base):
    """A customer's own monthly allowance, overriding `CREDITDESK_CHANGE_HOURS_PER_MONTH`."""

    __tablename__ = "change_allowances"

    customer_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("customers.id"), primary_key=True
    )
    minutes_per_month: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkLog(Base):
    """Work on a small change, against the allowance of `month` (YYYY-MM). `over_minutes`:
    the part beyond the allowance; `credits`: what that part was charged (`charge` rule),
    through the ledger transaction `transaction_id`."""

    __tablename__ = "work_logs"
    __table_args__ = (Index("ix_work_logs_customer_month", "customer_id", "month"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    month: Mapped[str] = mapped_column(String(7))
    minutes: Mapped[int] = mapped_column(Integer)
    over_minutes: Mapped[int] = mapped_column(Integer)
    credits: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(1000))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
