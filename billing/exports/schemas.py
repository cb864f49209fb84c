from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from credits.schemas import Money

# The roll-forward's lines, in order, with the sign each takes towards `closing`.
ROLL_FORWARD_LINES: tuple[tuple[str, int], ...] = (
    ("sales", +1),
    ("free_grants", +1),
    ("recognised", -1),
    ("reversed", +1),
    ("breakage", -1),
    ("refunded", -1),
    ("adjustments", -1),
    ("other", +1),
)


class RollForward(BaseModel):
    """closing = opening + sales + free_grants − recognised + reversed − breakage − refunded
    − adjustments + other."""

    opening: int = Field(description="balance at `from`")
    sales: int = Field(description="packs paid (grants that brought money)")
    free_grants: int = Field(
        description="free credits granted (spend rewards, admin grants); no money"
    )
    recognised: int = Field(description="used on tickets: revenue:support")
    reversed: int = Field(description="charges refunded back into lots")
    breakage: int = Field(description="expired: revenue:breakage")
    refunded: int = Field(
        description="given back to customers with their money (refunds, lost disputes)"
    )
    adjustments: int = Field(description="removed by admin adjustments: revenue:adjustments")
    other: int = Field(description="events of any other kind; zero unless the ledger grew one")
    closing: int = Field(description="balance at `to`")


class MoneyRollForward(BaseModel):
    """The roll-forward of one currency's deferred revenue: every line a Money object
    (`{amount, currency}`, amount in minor units), like money everywhere in the API."""

    currency: str
    opening: Money
    sales: Money
    free_grants: Money
    recognised: Money
    reversed: Money
    breakage: Money
    refunded: Money
    adjustments: Money
    other: Money
    closing: Money

    @classmethod
    def of(cls, currency: str, figures: RollForward) -> MoneyRollForward:
        lines = {k: Money(amount=v, currency=currency) for k, v in figures.model_dump().items()}
        return cls(currency=currency, **lines)

    def in_minor_units(self) -> RollForward:
        return RollForward(**{k: getattr(self, k).amount for k in RollForward.model_fields})


class DeferredRevenueRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    money: list[MoneyRollForward] = Field(description="deferred revenue, one per currency")
    credits: RollForward = Field(description="credits held by customers (available + frozen)")
