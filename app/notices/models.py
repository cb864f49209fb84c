"""The notices sent: one row per fact, its unique `key` the guarantee that a fact is mailed
once (created by alembic/versions/0020_notices.py; the two must match exactly)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.events import EventType
from app.kit.types import BigIntPK, UTCDateTime


class NoticeKind(StrEnum):
    transfer_consent = "transfer_consent"
    ticket_refunded = "ticket_refunded"
    ticket_resolved = "ticket_resolved"
    credits_expiring = "credits_expiring"

    @property
    def event_type(self) -> EventType:
        return EventType(f"notice.{self.value}")


class Notice(Base):
    """One notice: the fact it tells (`key`: `<kind>:<the ticket event's id>`, or
    `credits_expiring:<lot>:<days>d`), the mail queued for it and the event written."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_customer_id_seq", "customer_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    ticket_id: Mapped[str | None] = mapped_column(String(40))
    lot_id: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(8))
    outbox_id: Mapped[str | None] = mapped_column(String(40))
    event_id: Mapped[str | None] = mapped_column(String(40))
    # the notice as the API and its event show it (`NoticeRead`), kept after the event's
    # retention
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
