"""Request and response bodies of the desk. Limits that are configurable (subject and body
lengths, meaningless subjects) are checked by the service against the settings; the hard
caps here only keep absurd input out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.desk.models import ChargeReason, Line, RefundReason, Status
from app.desk.sla.models import Category
from app.desk.sla.schemas import SlaRead
from app.kit.metadata import Metadata
from app.settings import Settings

HARD_TEXT_CAP = 1_000_000

_defaults = Settings.model_fields
# What the schema says is what the server enforces with its default settings.
SUBJECT_LIMITS = {
    "minLength": _defaults["subject_min_length"].default,
    "maxLength": _defaults["subject_max_length"].default,
}
BODY_LIMITS = {"maxLength": _defaults["body_max_length"].default}


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(
        default=None, max_length=40, description="`cus_…`; staff only (a customer key: own)"
    )
    line: Line
    subject: str = Field(
        max_length=HARD_TEXT_CAP,
        json_schema_extra=SUBJECT_LIMITS,
        description="specific, not `help` or `urgent`; length limits: "
        "CREDITDESK_SUBJECT_MIN_LENGTH / _MAX_LENGTH",
    )
    body: str = Field(
        max_length=HARD_TEXT_CAP,
        json_schema_extra=BODY_LIMITS,
        description="length limit: CREDITDESK_BODY_MAX_LENGTH",
    )
    product: str | None = Field(default=None, max_length=100)
    version: str | None = Field(
        default=None, min_length=1, max_length=50,
        description="the product's version; a registered product's unsupported version is "
        "refused on the technical line (422 `unsupported_version`, seed 002)",
    )  # fmt: skip
    severity: int = Field(default=3, ge=1, le=4, description="1 = system down … 4 = question")
    category: Category = Field(
        default=Category.product_issue, description="sets the service-level targets"
    )
    metadata: Metadata | None = None


class ChargeRead(BaseModel):
    credits: int
    reason: ChargeReason = Field(description="`partner` tickets cost 0 credits")
    refunded: bool
    refund_reason: RefundReason | None


class TicketRead(BaseModel):
    id: str
    number: int
    customer_id: str
    line: Line
    status: Status
    severity: int
    product: str | None
    version: str | None = None
    subject: str
    body: str
    bug_reference: str | None
    merged_into: str | None
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    charge: ChargeRead | None = Field(
        description="null while the ticket has never been on the technical line"
    )
    sla: SlaRead | None = Field(default=None, description="service levels (docs/service-levels.md)")


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(
        max_length=HARD_TEXT_CAP,
        json_schema_extra=BODY_LIMITS,
        description="length limit: CREDITDESK_BODY_MAX_LENGTH",
    )
    internal: bool = Field(default=False, description="staff-only note; customers never see it")


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    ticket_id: str
    author_role: str
    internal: bool
    body: str
    created_at: datetime


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_line: Line


class MergeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str = Field(min_length=1, max_length=40, description="`tkt_…` of the surviving ticket")


class OutOfScopeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=500)


class BugConfirmationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    bug_reference: str = Field(min_length=1, max_length=255)


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
