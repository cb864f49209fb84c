from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

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


class MoneyRollForward(RollForward):
    """Amounts in integer minor units (cents) of `currency`, net of VAT."""

    currency: str
    recognised_from_opening: int = Field(
        description="of `recognised`: out of the opening balance (lots granted before "
        "`from`), IFRS 15.116(b)"
    )
    recognised_from_sales: int = Field(
        description="of `recognised`: from lots granted in the period"
    )


class DeferredRevenueRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    money: list[MoneyRollForward] = Field(description="deferred revenue, one per currency")
    credits: RollForward = Field(description="credits held by customers (available + frozen)")
