"""Request and response bodies of contract levels."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.desk.sla.models import Category


class LevelTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: int = Field(ge=1, le=4)
    category: Category = Category.product_issue
    first_response_minutes: int = Field(gt=0, le=525_600, description="working minutes")
    resolution_minutes: int = Field(gt=0, le=525_600, description="working minutes")


class LevelWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    targets: list[LevelTarget] = Field(
        min_length=1, max_length=8, description="one per severity and category at most"
    )


class LevelRead(LevelWrite):
    id: str
    created_at: datetime
    updated_at: datetime


class LevelAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level_id: str | None = Field(max_length=40, description="`lvl_…`; null: the line's targets")


class CustomerLevelRead(BaseModel):
    customer_id: str
    level: LevelRead | None
