"""ORM models of the e-mail channel (imported by app.models).

The schema is created by alembic/versions/0006_email.py; the two must match exactly."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import BigIntPK, UTCDateTime


class Outcome(StrEnum):
    """What became of one inbound mail."""

    created = "created"
    threaded = "threaded"
    refused_unknown_sender = "refused_unknown_sender"
    refused_subject = "refused_subject"
    refused_no_credit = "refused_no_credit"
    refused_too_large = "refused_too_large"
    refused_duplicate = "refused_duplicate"
    refused_not_your_ticket = "refused_not_your_ticket"
    refused_ticket_closed = "refused_ticket_closed"
    refused_invalid = "refused_invalid"
    ignored_automated = "ignored_automated"  # RFC 3834: a robot's mail, kept, not acted on


class OutboxKind(StrEnum):
    auto_reply = "auto_reply"
    refusal = "refusal"
    staff_reply = "staff_reply"
    low_balance = "low_balance"
    auto_top_up_failed = "auto_top_up_failed"
    receipt = "receipt"
    notice = "notice"  # app.notices


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"


class EmailContact(Base):
    """An extra address allowed to write for a customer (the customer's own e-mail is
    always one). An address belongs to one customer at most."""

    __tablename__ = "email_contacts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboundEmail(Base):
    """One received mail and what became of it. `dedupe_key` (its Message-ID, or a hash of
    the raw message when it has none) makes a relay's redelivery a no-op."""

    __tablename__ = "email_inbound"
    __table_args__ = (Index("ix_email_inbound_message_id", "message_id"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(500))
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    ticket_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("tickets.id"), index=True)
    ticket_message_id: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EmailAttachment(Base):
    """A file that came with a mail, kept with the ticket message it arrived on."""

    __tablename__ = "email_attachments"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    ticket_id: Mapped[str] = mapped_column(String(40), ForeignKey("tickets.id"), index=True)
    message_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("ticket_messages.id"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxEmail(Base):
    """A mail to send, written in the same transaction as what caused it. `message_id` is
    fixed at creation, so a resend after a crash carries the same Message-ID."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        Index("ix_email_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_email_outbox_recipient_created", "recipient", "created_at"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("tickets.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
