from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.kit.auth import Role
from app.kit.i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES
from app.kit.metadata import Metadata

Locale = Literal[SUPPORTED_LOCALES]  # type: ignore[valid-type]
LOCALE_DESCRIPTION = "the language of the customer's mail and cabinet (`en`, `ru`)"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    partner: bool = False
    auto_accept_transfers: bool = False
    code_word: str | None = Field(default=None, min_length=4, max_length=200)
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    metadata: Metadata | None = None
    low_balance_threshold: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="credits; `balance.low` and a mail when the balance falls to it or below "
        "(null = off; when omitted, CREDITDESK_LOW_BALANCE_THRESHOLD)",
    )
    locale: Locale = Field(default=DEFAULT_LOCALE, description=LOCALE_DESCRIPTION)


class CustomerUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    partner: bool | None = None
    auto_accept_transfers: bool | None = None
    code_word: str | None = Field(default=None, min_length=4, max_length=200)
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    metadata: Metadata | None = Field(
        default=None, description="replaces the whole metadata; `{}` clears it"
    )
    low_balance_threshold: int | None = Field(
        default=None, ge=0, le=100_000, description="credits; null turns the alert off"
    )
    locale: Locale | None = Field(default=None, description=LOCALE_DESCRIPTION)


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    email: str
    partner: bool
    auto_accept_transfers: bool
    external_ref: str | None
    has_code_word: bool
    parent_id: str | None = Field(
        default=None, description="the partner whose end customer this is (scoped keys)"
    )
    metadata: dict[str, str] = Field(default_factory=dict)
    low_balance_threshold: int | None
    locale: str = Field(description=LOCALE_DESCRIPTION)
    created_at: datetime
    updated_at: datetime


class VerifyCallerIn(Strict):
    code_word: str = Field(min_length=1, max_length=200)


class VerifyCallerOut(BaseModel):
    verified: bool


class ApiKeyCreate(Strict):
    role: Role
    name: str = Field(min_length=1, max_length=200)
    customer_id: str | None = Field(default=None, max_length=40)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    role: Role
    name: str
    customer_id: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str | None = Field(
        description="The secret. Shown only in this response; store it now. Null in an "
        "idempotent replay (`Idempotent-Replayed: true`): the secret is stored nowhere."
    )
