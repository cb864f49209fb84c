"""Purchases against localstripe (a real Stripe stand-in in its own process): the
PaymentIntent the SDK creates, recovery when Stripe fails, and `sync-payments`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe
from click.testing import CliRunner

from app.cli import main as cli
from app.kit.clock import rfc3339
from app.settings import Settings
from billing.stripe_client import StripeGateway
from billing.tasks import sync_payments
from tests.billing.conftest import (
    STRIPE_KEY,
    VISA_DECLINED_ON_CHARGE,
    VISA_OK,
    WEBHOOK_SECRET,
    balance,
    customer_with_key,
    free_port,
)
from tests.billing.helpers import stripe_purchase
from tests.conftest import Api


async def pay(client: stripe.StripeClient, intent_id: str, card: str) -> None:
    """What Stripe.js does in the cabinet: a card, attached, confirmed."""
    method = await client.v1.payment_methods.create_async(
        params={"type": "card",
                "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )  # fmt: skip
    await client.v1.payment_intents.update_async(intent_id, params={"payment_method": method.id})
    await client.v1.payment_intents.confirm_async(intent_id)


async def purchase(api: Api, purchase_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/purchases/{purchase_id}", headers=api.admin)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def test_purchase_creates_a_payment_intent(
    api: Api, stripe_client: stripe.StripeClient
) -> None:
    customer_id, made, intent = await stripe_purchase(api, stripe_client, pack="five")
    assert made["status"] == "pending" and made["provider"] == "stripe"
    assert made["client_secret"] == intent["client_secret"]
    assert intent["amount"] == 10000 and intent["currency"] == "eur"
    assert intent["metadata"] == {"purchase_id": made["id"], "customer_id": customer_id,
                                  "pack": "five"}  # fmt: skip
    assert (await balance(api, customer_id))["available"] == 0


async def test_stripe_down_then_retry_with_the_same_key(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, key = await customer_with_key(api)
    working = api.app.state.payments
    api.app.state.payments = StripeGateway(STRIPE_KEY, api_base=f"http://127.0.0.1:{free_port()}")
    url = f"/v1/customers/{customer_id}/purchases"
    headers = {**key, "Idempotency-Key": "k-1"}
    try:
        down = await api.client.post(url, json={"pack": "single"}, headers=headers)
    finally:
        await api.app.state.payments.aclose()
        api.app.state.payments = working
    assert down.status_code == 503 and down.json()["code"] == "payment_provider_unavailable"
    rows = await run_sql("SELECT status, payment_intent_id FROM purchases")
    assert [tuple(r) for r in rows] == [("pending", None)]

    retry = await api.client.post(url, json={"pack": "single"}, headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["client_secret"].startswith(retry.json()["payment_intent_id"])
    assert (await run_sql("SELECT count(*) FROM purchases"))[0][0] == 1


async def test_sync_payments_grants_what_a_missed_webhook_would(
    api: Api, stripe_client: stripe.StripeClient, settings: Settings, run_sql: Any
) -> None:
    paid_customer, paid, _ = await stripe_purchase(api, stripe_client, pack="five")
    declined_customer, refused, _ = await stripe_purchase(
        api, stripe_client, pack="single", name="Declined", email="d@example.com"
    )
    _, waiting, _ = await stripe_purchase(api, stripe_client, name="W", email="w@example.com")
    await pay(stripe_client, paid["payment_intent_id"], VISA_OK)
    with pytest.raises(stripe.CardError):
        await pay(stripe_client, refused["payment_intent_id"], VISA_DECLINED_ON_CHARGE)

    gateway = api.app.state.payments
    for _ in range(2):
        report = await sync_payments(api.db, gateway, settings, api.clock.now())
        assert report.errors == []
    assert report.checked == 3 - 1  # the paid one is no longer looked at
    assert (await purchase(api, paid["id"]))["status"] == "succeeded"
    failed = await purchase(api, refused["id"])
    assert failed["status"] == "failed" and failed["failure_reason"]
    assert (await purchase(api, waiting["id"]))["status"] == "pending"
    assert (await balance(api, paid_customer))["available"] == 5
    assert (await balance(api, declined_customer))["available"] == 0
    grants = await run_sql(
        "SELECT count(*) FROM journal_transactions WHERE kind = 'grant' AND purchase_id = :p",
        p=paid["id"],
    )
    assert grants[0][0] == 1


async def test_sync_payments_recovers_a_purchase_stripe_never_answered(
    api: Api, stripe_client: stripe.StripeClient, settings: Settings
) -> None:
    customer_id, key = await customer_with_key(api)
    working = api.app.state.payments
    api.app.state.payments = StripeGateway(STRIPE_KEY, api_base=f"http://127.0.0.1:{free_port()}")
    try:
        down = await api.client.post(
            f"/v1/customers/{customer_id}/purchases", json={"pack": "five"}, headers=key
        )
    finally:
        await api.app.state.payments.aclose()
        api.app.state.payments = working
    assert down.status_code == 503
    async with api.db.unit_of_work() as session:
        from sqlalchemy import select

        from billing.models import Purchase

        purchase_id = (await session.execute(select(Purchase.id))).scalar_one()
    report = await sync_payments(api.db, working, settings, api.clock.now())
    assert report.checked == 1 and report.errors == []
    recovered = await purchase(api, purchase_id)
    assert recovered["payment_intent_id"] and recovered["client_secret"]
    await pay(stripe_client, recovered["payment_intent_id"], VISA_OK)
    await sync_payments(api.db, working, settings, api.clock.now())
    assert (await balance(api, customer_id))["available"] == 5


async def test_sync_payments_command(
    api: Api, stripe_client: stripe.StripeClient, settings: Settings, localstripe: str
) -> None:
    customer_id, made, _ = await stripe_purchase(api, stripe_client, pack="single")
    await pay(stripe_client, made["payment_intent_id"], VISA_OK)
    env = {
        "CREDITDESK_DATABASE_URL": settings.database_url,
        "CREDITDESK_STRIPE_SECRET_KEY": STRIPE_KEY,
        "CREDITDESK_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CREDITDESK_STRIPE_API_BASE": localstripe,
        "CREDITDESK_ENV": "test",
        # The command runs at the tests' moment, whatever today is: its 30-day window
        # starts from the purchase's time, not from the wall clock's.
        "CREDITDESK_CLOCK_START": rfc3339(api.clock.now()),
    }
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["sync-payments"], env=env)
    assert result.exit_code == 0, result.output
    assert '"succeeded": 1' in result.stdout
    assert (await balance(api, customer_id))["available"] == 1
