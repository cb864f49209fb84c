"""Questions billing asks features above it, without importing them (`app.kit.hooks`).

A Stripe invoice names a Stripe customer; which CreditDesk customer that is (its
`external_ref`) is the customers feature's knowledge. Billing publishes a
`CustomerByExternalRef` on `FIND_CUSTOMER`; the customers feature subscribes in its
declaration and fills in `customer_id`. Unanswered, it stays None (the invoice is parked)."""

from __future__ import annotations

from dataclasses import dataclass

from app.kit.hooks import Hook


@dataclass(slots=True)
class CustomerByExternalRef:
    external_ref: str
    customer_id: str | None = None  # the answer


FIND_CUSTOMER: Hook[CustomerByExternalRef] = Hook("billing.find_customer")
