"""Purchases of credit packs and the inbox of payment-provider events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import BigIntPK, UTCDateTime


class PurchaseStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    partially_refunded = "partially_refunded"
    refunded = "refunded"
    disputed = "disputed"


class EventState(StrEnum):
    processed = "processed"  # its effect is in the ledger (or it confirmed what was there)
    ignored = "ignored"  # a type we do not handle, or not about CreditDesk
    parked = "parked"  # waits for its purchase (or customer) to become known; retried
    rejected = "rejected"  # contradicts what we know (amount, intent); needs a person


class Purchase(Base):
    """One pack bought by one customer. The pack's terms are copied at purchase time, so a
    later catalogue change does not alter what was paid for."""

    __tablename__ = "purchases"
    __table_args__ = (
        Unique("idempotency_scope", "idempotency_key"),
        CheckConstraint("amount_refunded >= 0", name="refunded_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), index=True)
    pack: Mapped[str] = mapped_column(String(32))
    credits: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # what the customer pays, VAT included
    vat_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    valid_days: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    client_secret: Mapped[str | None] = mapped_column(String(255))
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    dispute_id: Mapped[str | None] = mapped_column(String(255))
    dispute_status: Mapped[str | None] = mapped_column(String(20))
    dispute_reason: Mapped[str | None] = mapped_column(String(40))
    # what a lost dispute took back (Stripe's `amount_refunded` does not count it)
    amount_disputed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    # No longer written: a purchase's Idempotency-Key is kept by app.kit.idempotency like
    # every POST's. Left for a migration to drop (old rows keep their values).
    idempotency_scope: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_number: Mapped[str | None] = mapped_column(String(20), unique=True)


class PaymentEvent(Base):
    """Every event a provider sent, stored once per (source, event id) in the same
    transaction as its effect."""

    __tablename__ = "payment_events"
    __table_args__ = (Unique("source", "event_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), index=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    purchase_id: Mapped[str | None] = mapped_column(String(40), index=True)
    provider_created: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReceiptCounter(Base):
    """The last receipt number given in a year; its row is locked while a number is taken,
    in the purchase's success transaction, so numbers have no gaps and no repeats."""

    __tablename__ = "receipt_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class _Document:
    """The columns a receipt and a credit note share: who sold to whom, and the money with
    its VAT, fixed when the document is issued; `mailed_at` once it is queued as mail."""

    seller_name: Mapped[str] = mapped_column(String(200))
    seller_address: Mapped[str] = mapped_column(String(500))
    seller_tax_id: Mapped[str | None] = mapped_column(String(64))
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_email: Mapped[str] = mapped_column(String(320))
    currency: Mapped[str] = mapped_column(String(3))
    gross: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    vat: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[str] = mapped_column(String(12))
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Receipt(_Document, Base):
    """What a succeeded purchase's receipt says, fixed when it was issued (a later change
    of the VAT rate, the seller's details or the customer's name does not alter it)."""

    __tablename__ = "receipts"
    __table_args__ = (Unique("year", "seq"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    purchase_id: Mapped[str] = mapped_column(String(40), ForeignKey("purchases.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(String(200))


class CreditNoteCounter(Base):
    """The last credit note number given in a year (a sequence of its own, apart from the
    receipts'); locked like `ReceiptCounter`, in the transaction that makes the note."""

    __tablename__ = "credit_note_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class CreditNoteKind(StrEnum):
    refund = "refund"  # money refunded through Stripe (or the offline provider)
    dispute_lost = "dispute_lost"  # money a lost dispute took back


class CreditNote(_Document, Base):
    """Money given back on a purchase, as a document correcting its receipt: one per
    refund applied and one per lost dispute, fixed when issued. `source_key` names the
    refund or dispute it is for, once."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        Unique("year", "seq"),
        CheckConstraint("gross > 0 AND vat >= 0 AND net = gross - vat", name="amounts"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(300), unique=True)
    reference: Mapped[str | None] = mapped_column(String(255))  # the charge or dispute id
    purchase_id: Mapped[str] = mapped_column(String(40), ForeignKey("purchases.id"), index=True)
    receipt_number: Mapped[str | None] = mapped_column(String(20))
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(String(300))
