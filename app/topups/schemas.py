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
