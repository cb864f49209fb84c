from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.kit.events import EventType

EVENT_TYPES = frozenset(t.value for t in EventType)


def _check_types(value: list[str]) -> list[str]:
    unknown = [t for t in value if t != "*" and t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type(s): {', '.join(unknown)}")
    return sorted(set(value))


class EventRead(BaseModel):
    id: str = Field(description="`evt_…`; also the `webhook-id` of its deliveries")
    type: EventType = Field(description="its schema: the `webhooks` entry of that name")
    created_at: datetime
    customer_id: str | None
    data: dict[str, Any] = Field(description="`{object: <the resource as the API shows it>}`")
    previous: dict[str, Any] | None = Field(
        default=None, description="the changed fields' old values"
    )


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(
        min_length=1, max_length=64, description='event types, or `["*"]` for all'
    )
    description: str | None = Field(default=None, max_length=500)

    _types = field_validator("events")(_check_types)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[str] | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=500)
    status: Literal["enabled", "disabled"] | None = Field(
        default=None, description="`enabled` re-enables an endpoint disabled after failures"
    )

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_types(value)


class EndpointRead(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    customer_id: str | None = Field(
        description="the partner whose (and whose end customers') events it receives; "
        "null: every customer's"
    )
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointRead):
    secret: str | None = Field(
        description="`whsec_…`, to verify signatures. Shown only in this response; null in "
        "an idempotent replay."
    )


class DeliveryRead(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="the next try; null when finished")
    delivered_at: datetime | None
    created_at: datetime
