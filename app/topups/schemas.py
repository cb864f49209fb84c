from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PaymentMethodRead(BaseModel):
    brand: str
    last4: str


class AutoTopUpRead(BaseModel):
    customer_id: str
    enabled: bool
    pack: str | None
    threshold: int | None
    payment_method: PaymentMethodRead | None
    failures: int = Field(description="declined attempts in a row; 3 turn auto top-up off")
    disabled_reason: str | None


class AutoTopUpUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    pack: str = Field(min_length=1, max_length=32, description="a pack code from `GET /v1/packs`")
    threshold: int = Field(ge=0, le=100_000, description="buy when available credits fall to it")


class SetupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offline_card: Literal["ok", "decline"] = Field(
        default="ok",
        description="offline provider only (development, tests): a card that pays or declines",
    )


class SetupCreated(BaseModel):
    provider: Literal["stripe", "offline"]
    client_secret: str = Field(description="for Stripe.js `confirmSetup` (Payment Element)")
    status: str = Field(description="`succeeded` at once with the offline provider")


class SetupComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    setup_intent_id: str = Field(min_length=1, max_length=255)


class BalanceEventObject(BaseModel):
    """`data.object` of `balance.depleted` (and, with `threshold`, of `balance.low`)."""

    customer_id: str
    available: int = Field(description="credits available after the entry")
    entry_id: str = Field(description="the statement entry that lowered the balance")


class LowBalanceEventObject(BalanceEventObject):
    threshold: int = Field(description="the customer's low-balance threshold it fell to")


class AutoTopUpFailedEventObject(BaseModel):
    """`data.object` of `auto_top_up.failed`."""

    id: str = Field(description="`tup_…`, the top-up attempt")
    customer_id: str
    pack: str
    purchase_id: str | None
    reason: str | None = Field(description="why the payment failed")
    failures: int = Field(description="declined payments in a row")
    auto_top_up_disabled: bool = Field(description="true once 3 in a row turned it off")
