"""Auto top-up settings and the top-ups they claim (one per balance crossing)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import UTCDateTime


class AutoTopUp(Base):
    """A customer's auto top-up: the pack to buy when the balance falls to `threshold`,
    and the saved payment method to buy it with."""

    __tablename__ = "auto_top_ups"

    customer_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("customers.id"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    pack: Mapped[str | None] = mapped_column(String(32))
    threshold: Mapped[int | None] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_customer_id: Mapped[str | None] = mapped_column(String(255))  # Stripe `cus_…`
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    payment_method_brand: Mapped[str | None] = mapped_column(String(40))
    payment_method_last4: Mapped[str | None] = mapped_column(String(4))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TopUpStatus(StrEnum):
    pending = "pending"  # claimed by the debit that crossed the threshold
    charging = "charging"  # its purchase exists; the off-session payment is under way
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"  # auto top-up was turned off before the job got to it


class TopUp(Base):
    """One off-session purchase, claimed in the transaction of the debit that crossed the
    threshold: `crossing_entry` (that debit's journal entry) is unique, so a crossing makes
    one top-up whatever the workers or retries; the purchase's Idempotency-Key and the
    Stripe idempotency key both derive from this row's id."""

    __tablename__ = "top_ups"
    __table_args__ = (
        Index(
            "ix_top_ups_open",
            "created_at",
            postgresql_where=text("status IN ('pending', 'charging')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), index=True)
    crossing_entry: Mapped[str] = mapped_column(String(40), unique=True)
    pack: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    purchase_id: Mapped[str | None] = mapped_column(String(40))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
