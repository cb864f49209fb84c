from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.kit.metadata import Metadata
from billing.models import CreditNote, Purchase, PurchaseStatus
from credits.schemas import Money


class PurchaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str = Field(min_length=1, max_length=32, description="a pack code from `GET /v1/packs`")
    metadata: Metadata | None = None


class DisputeRead(BaseModel):
    status: Literal["open", "won", "lost"]
    reason: str | None = Field(description="Stripe's dispute reason, e.g. `fraudulent`")


class PurchaseRead(BaseModel):
    id: str
    customer_id: str
    pack: str
    credits: int
    amount: Money = Field(description="the price paid, VAT included")
    net: Money = Field(description="the price without VAT (what the credits are worth)")
    vat: Money = Field(description="the VAT in the price (CREDITDESK_VAT_RATE at purchase)")
    valid_days: int | None
    status: Literal[
        "pending", "succeeded", "failed", "partially_refunded", "refunded", "disputed"
    ] = Field(
        description="`succeeded`: paid, no refund, no dispute open or lost; "
        "`partially_refunded` / `refunded`: some / all of the money went back; "
        "`disputed`: a dispute is open, or was lost (see `dispute`)"
    )
    provider: Literal["stripe", "offline"]
    client_secret: str | None = Field(
        description="for Stripe.js to confirm the payment; only while it is not paid"
    )
    payment_intent_id: str | None
    amount_refunded: Money = Field(
        description="money that went back to the customer: refunds, and what a lost dispute took"
    )
    dispute: DisputeRead | None = Field(description="the payment's dispute, if any")
    dispute_status: Literal["open", "won", "lost"] | None = Field(
        description="`dispute.status` (kept for older clients)"
    )
    failure_reason: str | None
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    succeeded_at: datetime | None
    receipt_number: str | None = Field(
        description="once paid: the receipt, `GET /v1/purchases/{id}/receipt.pdf`"
    )


class WebhookAck(BaseModel):
    received: bool = True
    event_id: str
    outcome: Literal["processed", "ignored", "parked", "rejected", "duplicate"]


def purchase_read(purchase: Purchase) -> PurchaseRead:
    unpaid = purchase.status in (PurchaseStatus.pending.value, PurchaseStatus.failed.value)
    return PurchaseRead(
        id=purchase.id,
        customer_id=purchase.customer_id,
        pack=purchase.pack,
        credits=purchase.credits,
        amount=Money(amount=purchase.amount, currency=purchase.currency),
        net=Money(amount=purchase.amount - purchase.vat_amount, currency=purchase.currency),
        vat=Money(amount=purchase.vat_amount, currency=purchase.currency),
        valid_days=purchase.valid_days,
        status=purchase.status,
        provider=purchase.provider,
        client_secret=purchase.client_secret if unpaid else None,
        payment_intent_id=purchase.payment_intent_id,
        amount_refunded=Money(
            amount=purchase.amount_refunded + purchase.amount_disputed,
            currency=purchase.currency,
        ),
        dispute=DisputeRead(status=purchase.dispute_status, reason=purchase.dispute_reason)
        if purchase.dispute_status
        else None,
        dispute_status=purchase.dispute_status,
        failure_reason=purchase.failure_reason,
        metadata=dict(purchase.metadata_ or {}),
        created_at=purchase.created_at,
        updated_at=purchase.updated_at,
        succeeded_at=purchase.succeeded_at,
        receipt_number=purchase.receipt_number,
    )


class CreditNoteRead(BaseModel):
    """Money given back on a purchase, correcting its receipt: one per refund and one per
    lost dispute. Its PDF: `GET /v1/credit-notes/{id}.pdf`."""

    id: str
    number: str = Field(description="`CN-<year>-<seq>`: gap-free per year, apart from receipts")
    kind: Literal["refund", "dispute_lost"]
    purchase_id: str
    receipt_number: str | None = Field(
        description="the receipt it corrects (none for a purchase paid before receipts)"
    )
    customer_id: str
    issued_at: datetime
    amount: Money = Field(description="the money given back, VAT included")
    net: Money
    vat: Money = Field(description="the VAT in it: the receipt's, in proportion (cents exact)")
    vat_rate: str = Field(description="the receipt's VAT rate, e.g. `0.19`")
    reference: str | None = Field(description="Stripe's charge or dispute id")
    description: str


def credit_note_read(note: CreditNote) -> CreditNoteRead:
    return CreditNoteRead(
        id=note.id,
        number=note.number,
        kind=note.kind,
        purchase_id=note.purchase_id,
        receipt_number=note.receipt_number,
        customer_id=note.customer_id,
        issued_at=note.issued_at,
        amount=Money(amount=note.gross, currency=note.currency),
        net=Money(amount=note.net, currency=note.currency),
        vat=Money(amount=note.vat, currency=note.currency),
        vat_rate=note.vat_rate,
        reference=note.reference,
        description=note.description,
    )
