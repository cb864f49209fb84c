from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from credits.models import JournalTransaction


class Money(BaseModel):
    amount: int = Field(description="integer minor units (cents)")
    currency: str


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

    amount: int = Field(description="cents; negative for a refund", ge=-(10**12), le=10**12)
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


def entry_read(txn: JournalTransaction) -> EntryRead:
    return EntryRead(
        id=txn.id,
        created_at=txn.posted_at,
        kind=txn.kind,
        credits=txn.credits,
        balance_after=txn.balance_after or 0,
        lot_id=txn.lot_id,
        ticket_id=txn.ticket_id,
        purchase_id=txn.purchase_id,
        reason=txn.reason,
        memo=txn.memo,
    )
