from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import UTCDateTime


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("locale IN ('en', 'ru')", name="locale_supported"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), index=True)
    partner: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_accept_transfers: Mapped[bool] = mapped_column(Boolean, default=False)
    external_ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    code_word_hash: Mapped[str | None] = mapped_column(String(200))
    # Credits; crossing it downwards emits `balance.low` and mails the customer (None = off).
    low_balance_threshold: Mapped[int | None] = mapped_column(Integer)
    # The language of every mail and cabinet text the customer gets (app.kit.i18n).
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    verify_failures: Mapped[int] = mapped_column(Integer, default=0)
    verify_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A partner's end customer (created by the partner's scoped integration key).
    parent_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("customers.id"), index=True
    )
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
