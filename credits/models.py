"""Wallets, lots and the append-only double-entry journal (see docs/ledger.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import BigIntPK, UTCDateTime


def _present(column: str) -> dict[str, Any]:
    """Options of a partial index over the rows where `column` is set: for a column that
    is mostly NULL and only ever compared with a value (`col = :x` implies it is not NULL,
    so PostgreSQL uses the index), the NULL rows cost no index entry."""
    return {"postgresql_where": text(f"{column} IS NOT NULL")}


class Wallet(Base):
    """The stored balance beside the journal; its row is the customer's ledger lock."""

    __tablename__ = "wallets"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("frozen >= 0", name="frozen_not_negative"),
    )

    customer_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("customers.id"), primary_key=True
    )
    available: Mapped[int] = mapped_column(Integer, default=0)
    frozen: Mapped[int] = mapped_column(Integer, default=0)
    spend_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rewarded_credits: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Lot(Base):
    """Credits granted together, with their value. `value_remaining` is the value of the
    `remaining + frozen` units still held; it is what deferred revenue owes for this lot."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        CheckConstraint("frozen >= 0", name="frozen_not_negative"),
        CheckConstraint("remaining + frozen <= credits", name="held_within_credits"),
        CheckConstraint("value_remaining >= 0", name="value_not_negative"),
        # Not `remaining`: a charge changes it, and an indexed column that changes rules
        # out a HOT update (no new entry in any index of the table).
        Index("ix_lots_customer_id", "customer_id"),
        Index("ix_lots_purchase_id", "purchase_id", **_present("purchase_id")),
        Index("ix_lots_origin_lot_id", "origin_lot_id", **_present("origin_lot_id")),
        Index("ix_lots_expires_at", "expires_at", **_present("expires_at")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    source: Mapped[str] = mapped_column(String(20))
    credits: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    frozen: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[int] = mapped_column(BigInteger)
    value_remaining: Mapped[int] = mapped_column(BigInteger)
    unit_value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    cash_account: Mapped[str | None] = mapped_column(String(40))
    purchase_id: Mapped[str | None] = mapped_column(String(40))
    origin_lot_id: Mapped[str | None] = mapped_column(String(40))
    valid_days: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JournalTransaction(Base):
    """One business event. For a customer it is also one statement entry (`ent_…`)."""

    __tablename__ = "journal_transactions"
    __table_args__ = (
        Index("ix_journal_transactions_customer_seq", "customer_id", "seq"),
        Index("ix_journal_transactions_purchase_id", "purchase_id", **_present("purchase_id")),
        # Unique where set: one refund per charge, one posting per dedupe key.
        Index(
            "uq_journal_transactions_refund_of", "refund_of", unique=True, **_present("refund_of")
        ),
        Index(
            "uq_journal_transactions_dedupe_key",
            "dedupe_key",
            unique=True,
            **_present("dedupe_key"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("customers.id"))
    credits: Mapped[int] = mapped_column(Integer, default=0)
    balance_after: Mapped[int | None] = mapped_column(Integer)
    lot_id: Mapped[str | None] = mapped_column(String(40))
    ticket_id: Mapped[str | None] = mapped_column(String(40))
    ticket_number: Mapped[int | None] = mapped_column(Integer)
    purchase_id: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(255))
    memo: Mapped[str | None] = mapped_column(Text)
    refund_of: Mapped[str | None] = mapped_column(String(40))
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(40))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class JournalLine(Base):
    """Never updated or deleted (a Postgres trigger refuses both). Debit +, credit −."""

    __tablename__ = "journal_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    transaction_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("journal_transactions.seq"), index=True
    )
    account: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str | None] = mapped_column(String(40))
    lot_id: Mapped[str | None] = mapped_column(String(40), index=True)


class SpendRecord(Base):
    """Qualifying product spend reported for a customer (negative = refund)."""

    __tablename__ = "spend_records"
    __table_args__ = (UniqueConstraint("customer_id", "reference"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    reference: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
