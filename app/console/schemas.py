"""Request and response bodies of the staff console's own API: sessions, the queue and a
customer's phone-call allowance."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.desk.schemas import TicketRead
from app.kit.auth import Role


class ConsoleSessionRead(BaseModel):
    id: str = Field(description="`key_…` of the session; `DELETE /v1/console-sessions/current`")
    role: Role = Field(description="the staff key's role: admin, cr_agent or engineer")
    name: str = Field(description="the staff member, as their key is named")
    expires_at: datetime


class ConsoleSessionCreated(ConsoleSessionRead):
    token: str | None = Field(
        description="bearer token of the session (`cds_…`); shown only here, null in an "
        "idempotent replay"
    )


class QueueItem(TicketRead):
    customer_name: str
    customer_partner: bool
    next_due_at: datetime | None = Field(
        description="the earliest pending service-level target; null when none is pending"
    )
    next_due: Literal["first_response", "assignment", "resolution"] | None = Field(
        description="which target falls due at `next_due_at`"
    )


class QueuePage(BaseModel):
    data: list[QueueItem] = Field(
        description="ordered by `next_due_at`, soonest (or overdue) first"
    )
    total: int = Field(description="tickets matching the filters (of those scanned)")
    truncated: bool = Field(
        description="more unfinished tickets matched than one queue reads "
        "(the oldest are read first): narrow the filters"
    )


class CallAllowanceRead(BaseModel):
    day: date = Field(description="today's working day, in the technical line's calendar")
    calls: int = Field(description="phone consultations logged on that day")
    limit: int = Field(description="CREDITDESK_CALLS_PER_DAY")
    remaining: int
    max_minutes: int = Field(description="CREDITDESK_CALL_MAX_MINUTES: the longest call")
