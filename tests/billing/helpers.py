"""Stripe objects for signed test events, built from the real PaymentIntent localstripe made."""

from __future__ import annotations

from typing import Any

import stripe

from tests.billing.conftest import customer_with_key
from tests.conftest import Api


async def stripe_purchase(
    api: Api, stripe_client: stripe.StripeClient, *, pack: str = "five", **customer: Any
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(customer id, purchase as the API returned it, its PaymentIntent as Stripe has it)."""
    customer_id, key = await customer_with_key(api, **customer)
    response = await api.client.post(
        f"/v1/customers/{customer_id}/purchases", json={"pack": pack}, headers=key
    )
    assert response.status_code == 201, response.text
    purchase: dict[str, Any] = response.json()
    intent = await stripe_client.v1.payment_intents.retrieve_async(purchase["payment_intent_id"])
    return customer_id, purchase, intent.to_dict()


def charge_id_of(intent: dict[str, Any]) -> str:
    return "ch_" + intent["id"].removeprefix("pi_")


def succeeded(intent: dict[str, Any]) -> dict[str, Any]:
    return {**intent, "status": "succeeded", "latest_charge": charge_id_of(intent)}


def declined(intent: dict[str, Any]) -> dict[str, Any]:
    return {
        **intent,
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }


def refunded_charge(intent: dict[str, Any], amount_refunded: int) -> dict[str, Any]:
    return {
        "id": charge_id_of(intent),
        "object": "charge",
        "amount": intent["amount"],
        "amount_refunded": amount_refunded,
        "currency": intent["currency"],
        "payment_intent": intent["id"],
        "refunded": amount_refunded >= intent["amount"],
        "status": "succeeded",
        "metadata": {},
    }


def dispute(intent: dict[str, Any], *, status: str, amount: int | None = None) -> dict[str, Any]:
    return {
        "id": "dp_" + intent["id"].removeprefix("pi_"),
        "object": "dispute",
        "amount": intent["amount"] if amount is None else amount,
        "currency": intent["currency"],
        "charge": charge_id_of(intent),
        "payment_intent": intent["id"],
        "reason": "fraudulent",
        "status": status,
    }


def invoice(
    invoice_id: str, *, amount_paid: int, customer: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_paid": amount_paid,
        "currency": "eur",
        "customer": customer,
        "status": "paid",
        "status_transitions": {"paid_at": 1_790_000_000},
        "metadata": {},
        **extra,
    }
