from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from app.kit.inputs import Instant
from credits.models import JournalTransaction

MAX_AMOUNT = 10**10


class EntryKind(StrEnum):
    grant = "grant"
    charge = "charge"
    refund = "refund"
    expiry = "expiry"
    revoke = "revoke"
    adjustment = "adjustment"
    freeze = "freeze"
    release = "release"


class LotSource(StrEnum):
    purchase = "purchase"
    spend_reward = "spend_reward"
    adjustment = "adjustment"
    refund = "refund"


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
    source: LotSource
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


class ChangeHoursRead(BaseModel):
    """A customer's small-change hours this month (seed 001 §2.4), filled in by the desk
    through `credits.queries.BALANCE_HOOKS`."""

    month: str = Field(description="YYYY-MM, in the technical line's calendar")
    allowance_minutes: int
    used_minutes: int = Field(description="logged this month, within and beyond the allowance")
    remaining_minutes: int = Field(description="left of the allowance; nothing carries over")
    over_minutes: int = Field(description="logged beyond the allowance (the `charge` rule)")
    over_allowance: Literal["refuse", "charge"]


class BalanceRead(BaseModel):
    customer_id: str
    available: int
    frozen: int
    lots: list[LotRead]
    spend: SpendRead
    change_hours: ChangeHoursRead | None = Field(
        default=None, description="small-change hours this month (docs/desk.md)"
    )


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    kind: EntryKind
    credits: int
    balance_after: int
    lot_id: str | None
    ticket_id: str | None
    purchase_id: str | None
    reason: str | None
    memo: str | None = None


class SpendAmount(BaseModel):
    """Money as everywhere in the API; `currency` may be left out (the house currency)."""

    model_config = ConfigDict(extra="forbid")

    # A strict integer (never "100.00", 100.0 or true), at most 1e10 cents (100 million)
    # per report: far above any invoice, far below what would overflow a total (issue 12).
    amount: StrictInt = Field(
        description="minor units (cents), a JSON integer; negative for a refund",
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class SpendCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: SpendAmount = Field(
        description="`{amount, currency}`; a bare integer of cents is still accepted (deprecated)"
    )
    reference: str = Field(min_length=1, max_length=255)
    occurred_at: Instant | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _bare_cents(cls, value: object) -> object:
        """Before Money objects, spend was reported as bare cents."""
        if isinstance(value, int) and not isinstance(value, bool):
            return {"amount": value}
        return value


class SpendOut(BaseModel):
    total: Money = Field(description="the customer's cumulative qualifying spend")
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
