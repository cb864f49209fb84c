"""ORM model of phone consultations (imported by app.models); schema: migration 0012.

Seed 000: "Client's phone calls … should not last longer than 15 minutes, and there is a
limit of 3 calls per working day from one client … A phone call to NetUP prolongs the
waiting time in a similar manner for the duration of the call." Every call is logged."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import UTCDateTime


class CustomerCall(Base):
    """One phone consultation. `day` is the working day it counts against (the local date
    in the technical line's calendar); `ended_at` = `started_at` + the duration."""

    __tablename__ = "customer_calls"
    __table_args__ = (Index("ix_customer_calls_customer_day", "customer_id", "day"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    ticket_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("tickets.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(500))
    verified: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
