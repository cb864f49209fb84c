"""Request and response bodies of phone consultations."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.kit.inputs import Instant


class CallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    started_at: Instant = Field(description="when the call began (with a time zone)")
    duration_minutes: int = Field(ge=1, le=1440, description="at most 15 (422 `call_too_long`)")
    topic: str = Field(min_length=1, max_length=500)
    ticket_id: str | None = Field(
        default=None, max_length=40, description="`tkt_…` the call was about, if any"
    )
    verified: bool = Field(description="the caller gave the customer id and the code word")


class CallRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str
    ticket_id: str | None
    started_at: datetime
    ended_at: datetime
    duration_minutes: int
    day: date = Field(description="the working day it counts against")
    topic: str
    verified: bool
    created_at: datetime
