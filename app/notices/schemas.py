"""The `data.object` of the `notice.*` events: what the customer was told, and about what."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.notices.models import NoticeKind


class NoticeRead(BaseModel):
    id: str = Field(description="`ntc_…`")
    kind: NoticeKind
    customer_id: str
    locale: str = Field(description="the language the mail was written in (`en`, `ru`)")
    subject: str = Field(description="the mail's subject, in `locale`")
    link: str | None = Field(
        description="the cabinet page the mail points to (null without CREDITDESK_CABINET_URL)"
    )
    ticket_id: str | None = None
    ticket_number: int | None = None
    ticket_subject: str | None = None
    refund_reason: str | None = Field(
        default=None, description="`ticket_refunded`: the charge's refund reason"
    )
    bug_reference: str | None = Field(
        default=None, description="`ticket_refunded` for a product bug: its reference"
    )
    available: int | None = Field(
        default=None, description="`ticket_refunded`: the available credits after the refund"
    )
    lot_id: str | None = Field(default=None, description="`credits_expiring`: the lot (`lot_…`)")
    credits: int | None = Field(
        default=None, description="`credits_expiring`: how many credits expire; "
        "`ticket_refunded`: how many came back"
    )  # fmt: skip
    expires_at: datetime | None = Field(default=None, description="`credits_expiring`: when")
    days_before: int | None = Field(
        default=None,
        description="`credits_expiring`: the warning (CREDITDESK_NOTICES_EXPIRY_WARNING_DAYS)",
    )
    source_event_id: str | None = Field(
        default=None, description="the ticket event (`evt_…`) the notice tells of"
    )
    created_at: datetime
