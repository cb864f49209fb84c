"""Request and response bodies of the e-mail channel."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.email.models import OutboxKind, OutboxStatus


class InboundResult(BaseModel):
    id: str = Field(description="`eml_…`, the received mail")
    outcome: str = Field(
        description="`created`, `threaded`, `ignored_automated` (RFC 3834: an auto-reply, "
        "bulk mail or bounce, never answered) or `refused_…` (unknown_sender, subject, "
        "no_credit, too_large, duplicate, not_your_ticket, ticket_closed, invalid)"
    )
    ticket_id: str | None
    ticket_number: int | None
    replied: bool = Field(description="an answer was queued in the outbox")
    duplicate: bool = Field(description="this mail (same Message-ID) was already taken")


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr
    name: str | None = Field(default=None, max_length=200)


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str
    email: str
    name: str | None
    created_at: datetime


class ContactList(BaseModel):
    data: list[ContactRead]


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    ticket_id: str
    message_id: str = Field(description="the ticket message (`msg_…`) it came with")
    filename: str
    content_type: str
    size: int
    created_at: datetime


class AttachmentList(BaseModel):
    data: list[AttachmentRead]


class InboundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    message_id: str | None
    sender: str
    recipient: str
    subject: str
    size: int
    outcome: str
    customer_id: str | None
    ticket_id: str | None
    received_at: datetime


class OutboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    message_id: str = Field(description="fixed when written: a resend carries the same one")
    kind: OutboxKind
    ticket_id: str | None
    recipient: str
    subject: str
    locale: str = Field(description="the language subject and body are in (`Content-Language`)")
    status: OutboxStatus = Field(description="`dead`: given up; requeue it")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
