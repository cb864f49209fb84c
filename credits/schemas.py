from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

# The largest amount of money one request may carry, in cents (100 million in the
# currency): far above any real invoice, far below what would overflow a total.
MAX_AMOUNT = 10**10
Cents = Annotated[
    StrictInt,
    Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, description="integer minor units (cents); no strings"),
]


class Money(BaseModel):
    amount: int = Field(description="integer minor units (cents)")
    currency: str


class MoneyIn(BaseModel):
    """Money as input: a strict integer of cents (never a string or a float) and an ISO
    4217 code."""

    model_config = ConfigDict(extra="forbid")

    amount: Cents
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class PackRead(BaseModel):
    code: str
    credits: int
    price: Money
    valid_days: int | None


class PackList(BaseModel):
    data: list[PackRead]


class LotRead(BaseModel):
    id: str
    source: str
    credits: int
    remaining: int
    frozen: int
    unit_value: Money
    expires_at: datetime | None
    created_at: datetime


class SpendRead(BaseModel):
    total: Money
    rewarded_credits: int
    next_reward_at: Money = Field(description="cumulative spend at which the next credit comes")


class BalanceRead(BaseModel):
    customer_id: str
    available: int
    frozen: int
    lots: list[LotRead]
    spend: SpendRead


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    kind: str
    credits: int
    balance_after: int
    lot_id: str | None
    ticket_id: str | None
    purchase_id: str | None
    reason: str | None
    memo: str | None = None


class SpendCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Cents | MoneyIn = Field(
        description="Money `{amount, currency}` or plain cents; negative for a refund"
    )
    reference: str = Field(min_length=1, max_length=255)
    occurred_at: datetime | None = None


class SpendOut(BaseModel):
    total: int
    rewarded_credits: int
    credits_granted: int


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    credits: int = Field(ge=-100_000, le=100_000, description="±credits, not 0")
    reason: str = Field(min_length=3, max_length=500)
    valid_days: int | None = Field(default=None, gt=0, le=3650)
