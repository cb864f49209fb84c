"""Request and response bodies of small-change hours."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from credits.schemas import ChangeHoursRead


class WorkLogCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    minutes: int = Field(ge=1, le=1440, description="time spent on the change")
    note: str = Field(min_length=1, max_length=1000, description="what was changed")


class WorkLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    ticket_id: str
    customer_id: str
    month: str
    minutes: int
    over_minutes: int
    credits: int = Field(description="charged for the part beyond the allowance")
    note: str
    created_at: datetime


class WorkLogCreated(WorkLogRead):
    balance: ChangeHoursRead


class AllowanceWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours_per_month: float | None = Field(
        ge=0, le=744, description="null: back to CREDITDESK_CHANGE_HOURS_PER_MONTH"
    )
