"""Request and response bodies of the product and version registry."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, description="as customers name it on tickets")


class VersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: str = Field(min_length=1, max_length=50, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-+_]*$")
    released_on: date = Field(description="release date (a future date: announced, not yet out)")


class VersionRead(BaseModel):
    version: str
    released_on: date
    supported: bool = Field(description="whether a technical ticket about it is accepted today")
    supported_until: date | None = Field(
        description="last day of support (release of the next version + the support window); "
        "null while it is the current version"
    )


class ProductRead(BaseModel):
    id: str
    name: str
    created_at: datetime
    versions: list[VersionRead] = Field(description="newest release first")
    supported_versions: list[str] = Field(description="what the cabinet's ticket form offers")
