"""Request and response bodies of expected completion."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.kit.inputs import Instant


class PlanWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_completion_at: Instant = Field(description="when the task should be done")


class PlanRead(BaseModel):
    ticket_id: str
    expected_completion_at: datetime | None
    first_set_at: datetime | None = Field(description="when the customer was first told")
    due_at: datetime = Field(description="by when it must be told (3 working hours, seed 000)")
    in_time: bool | None = Field(description="told by `due_at`; null while not told")
