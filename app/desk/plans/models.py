"""ORM model of planned tasks' expected completion (imported by app.models); schema:
migration 0012. Seed 000: "When a ticket requires further investigation and problem
diagnostics, or a bug fix …, the corresponding task is planned and the expected
completion time communicated to the client within three hours." """

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import UTCDateTime


class TicketPlan(Base):
    """A ticket's expected completion. `first_set_at` is when the customer was first told
    (kept when the date moves later); the report compares it with the deadline."""

    __tablename__ = "ticket_plans"

    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"), primary_key=True)
    expected_completion_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    set_by: Mapped[str | None] = mapped_column(String(40))
