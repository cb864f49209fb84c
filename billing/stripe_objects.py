"""Stripe's objects, parsed once at billing's edge (a webhook's payload, an SDK answer) into
the few typed fields billing uses. Parsing never fails: a field of the wrong type or
missing reads as None, and the handlers decide what that means (ignore, park, reject)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def object_id(value: Any) -> str | None:
    """An id field that may come expanded (`{"id": …}`) or not."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    id: str | None
    status: str | None
    amount: int | None
    currency: str  # as Stripe writes it (lower case); "" when missing
    client_secret: str | None
    latest_charge: str | None
    purchase_id: str | None  # metadata.purchase_id: the purchase it was made for
    cancellation_reason: str | None
    failed_attempt: bool  # it carries a last_payment_error
    payment_error: str | None  # that error's message, else its code

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> PaymentIntent:
        error = obj.get("last_payment_error")
        error = error if isinstance(error, dict) else {}
        message = error.get("message") or error.get("code")
        return cls(
            id=object_id(obj.get("id")),
            status=_str(obj.get("status")),
            amount=_int(obj.get("amount")),
            currency=str(obj.get("currency") or ""),
            client_secret=_str(obj.get("client_secret")),
            latest_charge=object_id(obj.get("latest_charge")),
            purchase_id=_str(_metadata(obj).get("purchase_id")),
            cancellation_reason=_str(obj.get("cancellation_reason")) or None,
            failed_attempt=bool(obj.get("last_payment_error")),
            payment_error=str(message) if message else None,
        )


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge, as `charge.refunded` carries it."""

    id: str | None
    payment_intent: str | None
    amount_refunded: int | None  # cumulative
    purchase_id: str | None

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> Charge:
        return cls(
            id=object_id(obj.get("id")),
            payment_intent=object_id(obj.get("payment_intent")),
            amount_refunded=_int(obj.get("amount_refunded")),
            purchase_id=_str(_metadata(obj).get("purchase_id")),
        )


@dataclass(frozen=True, slots=True)
class Dispute:
    id: str | None
    charge: str | None
    payment_intent: str | None
    status: str | None
    amount: int | None
    purchase_id: str | None
    reason: str | None = None  # e.g. `fraudulent`, `product_not_received`

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> Dispute:
        return cls(
            id=object_id(obj.get("id")),
            charge=object_id(obj.get("charge")),
            payment_intent=object_id(obj.get("payment_intent")),
            status=_str(obj.get("status")),
            amount=_int(obj.get("amount")),
            purchase_id=_str(_metadata(obj).get("purchase_id")),
            reason=_str(obj.get("reason")),
        )


CUSTOMER_METADATA_KEY = "creditdesk_customer_id"


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str | None
    for_purchase: bool  # metadata.purchase_id: a support-credit pack, not product spend
    claimed_customer: str | None  # metadata.creditdesk_customer_id
    customer: str | None  # the Stripe customer
    amount_paid: int | None
    currency: str  # upper case; "" when missing
    paid_at: datetime | None

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> Invoice:
        metadata = _metadata(obj)
        transitions = obj.get("status_transitions")
        paid_at = _int(transitions.get("paid_at")) if isinstance(transitions, dict) else None
        return cls(
            id=object_id(obj.get("id")),
            for_purchase=bool(metadata.get("purchase_id")),
            claimed_customer=_str(metadata.get(CUSTOMER_METADATA_KEY)),
            customer=object_id(obj.get("customer")),
            amount_paid=_int(obj.get("amount_paid")),
            currency=str(obj.get("currency") or "").upper(),
            paid_at=datetime.fromtimestamp(paid_at, UTC) if paid_at and paid_at > 0 else None,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A verified webhook event: its envelope, its object (parsed by its handler), and the
    payload as received (stored once, replayed from the inbox)."""

    id: str
    type: str
    created: int | None
    object: dict[str, Any]
    raw: dict[str, Any]

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Event | None:
        """None when the envelope lacks an id, a type or `data.object`."""
        data = raw.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        event_id, kind = raw.get("id"), raw.get("type")
        if not (isinstance(event_id, str) and 0 < len(event_id) <= 255):
            return None
        if not isinstance(kind, str) or not isinstance(obj, dict):
            return None
        return cls(event_id, kind, _int(raw.get("created")), obj, raw)

    def about(self) -> tuple[str | None, str | None]:
        """(payment intent, charge) the event is about, to find what it waits for."""
        if self.type.startswith("payment_intent."):
            intent = PaymentIntent.parse(self.object)
            return intent.id, intent.latest_charge
        if self.type.startswith("charge.dispute."):
            dispute = Dispute.parse(self.object)
            return dispute.payment_intent, dispute.charge
        if self.type.startswith("charge."):
            charge = Charge.parse(self.object)
            return charge.payment_intent, charge.id
        return None, None
