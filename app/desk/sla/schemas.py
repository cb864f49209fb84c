"""Request and response bodies of service levels."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from app.desk.models import Line
from app.desk.sla.models import Category

_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _clock(value: Any) -> Any:
    if isinstance(value, str) and not re.match(_CLOCK, value):
        raise ValueError("a wall-clock time is HH:MM or HH:MM:SS, without a zone")
    return value


# A wall-clock time of day: "09:00" or "09:00:00" in, "09:00:00" out. Declared as a
# pattern, not `format: time`, which (RFC 3339 full-time) demands a zone offset that a
# calendar's opening hours do not have (their zone is the calendar's).
ClockTime = Annotated[
    time,
    BeforeValidator(_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M:%S"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": _CLOCK, "examples": ["09:00:00"]}),
]


class OpeningHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    opens: ClockTime = Field(description="wall-clock time in the calendar's zone")
    closes: ClockTime = Field(description="`00:00` means midnight at the end of the day")


class CalendarWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone: str = Field(min_length=1, max_length=64, description="IANA zone, e.g. Europe/Moscow")
    hours: list[OpeningHours] = Field(max_length=70)
    holidays: list[date] = Field(default_factory=list, max_length=1000)


class CalendarRead(CalendarWrite):
    line: Line
    default: bool = Field(description="true while the policy default is in force")


class TargetWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: Line
    severity: int = Field(ge=1, le=4)
    category: Category
    first_response_minutes: int = Field(gt=0, le=525_600)
    assignment_minutes: int = Field(gt=0, le=525_600)
    resolution_minutes: int = Field(gt=0, le=525_600)


class TargetRead(TargetWrite):
    default: bool


class TargetState(BaseModel):
    target_minutes: int = Field(description="working minutes, urgent-ticket extension included")
    due_at: datetime | None = Field(description="when it falls due at this pace; null once met")
    met_at: datetime | None
    breached: bool


class SlaRead(BaseModel):
    category: Category
    calendar: Literal["customer_relations", "technical", "24/7"] = Field(
        description="`24/7` for severity 1"
    )
    state: Literal["running", "paused", "stopped"] = Field(
        description="paused while waiting on the customer; stopped once resolved or closed"
    )
    paused: bool
    elapsed_minutes: int = Field(description="working minutes, pauses excluded")
    extension_minutes: int = Field(
        description="added by the customer's most-urgent tickets and phone calls"
    )
    first_response: TargetState
    assignment: TargetState
    resolution: TargetState
    assignee: str | None
    breached: bool = Field(description="any target missed")
    escalation_level: int = Field(description="0, 1 (head of customer service), 2 (manager)")
    urgent: bool = Field(description="the customer named this ticket the most urgent")
    compensated: bool = Field(description="its credit was refunded for a missed first response")


class SlaEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    level: int | None
    detail: str | None
    due_at: datetime | None
    occurred_at: datetime


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    assignee: str = Field(min_length=1, max_length=100, description="the engineer's name or id")


class SlaReportRow(BaseModel):
    line: Line
    severity: int
    tickets: int
    first_response_met: int
    first_response_breached: int
    resolution_met: int
    resolution_breached: int
    first_response_median_hours: float | None
    first_response_p90_hours: float | None


class CallsSummary(BaseModel):
    """Phone consultations begun in a report's period (seed 000)."""

    calls: int
    minutes: int
    verified: int
    customers: int


class LateExpectation(BaseModel):
    """A planned task whose expected completion was told late, or not at all past the
    deadline (seed 000: within three hours)."""

    ticket_id: str
    number: int
    due_at: datetime
    set_at: datetime | None = Field(description="when the customer was told; null: not yet")


class SlaReport(BaseModel):
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    rows: list[SlaReportRow]
    calls: CallsSummary = Field(
        default_factory=lambda: CallsSummary(calls=0, minutes=0, verified=0, customers=0),
        description="phone consultations begun in the period (seed 000; not in the CSV)",
    )
    expected_completion_late: list[LateExpectation] = Field(
        default_factory=list,
        description="tickets of the period whose expected completion came late (seed 000)",
    )

    model_config = ConfigDict(populate_by_name=True)
