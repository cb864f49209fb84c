from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UsageFigures(BaseModel):
    tickets: int = Field(description="tickets opened in the period on this line")
    credits_charged: int = Field(description="credits consumed by ticket charges")
    credits_refunded: dict[str, int] = Field(
        description="credits given back by charge refunds, by reason "
        "(misrouted, out_of_scope, merged, product_bug, sla_breach)"
    )
    credits_refunded_total: int
    partner_tickets: int = Field(description="partners' tickets charged 0 credits")
    partner_credits_would_cost: int = Field(
        description="what the partners' tickets would have cost a paying customer"
    )


class UsageRow(UsageFigures):
    customer_id: str
    customer_name: str
    partner: bool
    line: str = Field(description="`technical` or `customer_relations`")


class UsageReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    rows: list[UsageRow]
    totals: UsageFigures
