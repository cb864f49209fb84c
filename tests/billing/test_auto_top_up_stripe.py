"""Auto top-up through the real Stripe SDK against localstripe: a Stripe Customer and a
SetupIntent save the card, the crossing's top-up is an off-session PaymentIntent, and a card
declined on charge is recorded as a failure."""

from __future__ import annotations

from typing import Any

import stripe

from app.topups.tasks import run_top_ups
from tests.billing.conftest import VISA_DECLINED_ON_CHARGE, VISA_OK, customer_with_key
from tests.conftest import Api


async def _save_card(api: Api, client: stripe.StripeClient, customer_id: str,
                     key: dict[str, str], card: str) -> dict[str, Any]:  # fmt: skip
    setup = await api.client.post(
        f"/v1/customers/{customer_id}/payment-methods/setup", json={}, headers=key
    )
    assert setup.status_code == 201, setup.text
    assert setup.json()["provider"] == "stripe"
    setup_id = setup.json()["client_secret"].split("_secret_")[0]
    # What the Payment Element does in the browser: a card, confirmed on the SetupIntent.
    method = await client.v1.payment_methods.create_async(
        params={"type": "card",
                "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )  # fmt: skip
    await client.v1.setup_intents.confirm_async(setup_id, params={"payment_method": method.id})
    done = await api.client.post(
        f"/v1/customers/{customer_id}/payment-methods/setup/complete",
        json={"setup_intent_id": setup_id}, headers=key,
    )  # fmt: skip
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


async def _cross(api: Api, customer_id: str, key: dict[str, str]) -> None:
    await api.grant(customer_id, 2)
    enabled = await api.client.put(
        f"/v1/customers/{customer_id}/auto-top-up",
        json={"enabled": True, "pack": "five", "threshold": 1}, headers=key,
    )  # fmt: skip
    assert enabled.status_code == 200, enabled.text
    ticket = await api.client.post(
        "/v1/tickets",
        json={"line": "technical", "subject": "Backups fail after the update", "body": "x"},
        headers=key,
    )  # fmt: skip
    assert ticket.status_code == 201, ticket.text


async def _run(api: Api) -> int:
    return await run_top_ups(
        api.db, api.app.state.settings, api.clock.now(), gateway=api.app.state.payments
    )


async def test_saved_card_pays_the_top_up_off_session(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, key = await customer_with_key(api)
    saved = await _save_card(api, stripe_client, customer_id, key, VISA_OK)
    assert saved["payment_method"]["last4"] == "4242"
    await _cross(api, customer_id, key)
    assert await _run(api) == 1
    assert await _run(api) == 0
    rows = await run_sql(
        "SELECT status, provider, payment_intent_id IS NOT NULL FROM purchases "
        "WHERE customer_id = :c", c=customer_id,
    )  # fmt: skip
    assert rows == [("succeeded", "stripe", True)]
    balance = await api.client.get(f"/v1/customers/{customer_id}/balance", headers=key)
    assert balance.json()["available"] == 6


async def test_card_declined_on_charge_is_a_failure(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, key = await customer_with_key(api)
    await _save_card(api, stripe_client, customer_id, key, VISA_DECLINED_ON_CHARGE)
    await _cross(api, customer_id, key)
    assert await _run(api) == 1
    state = (await api.client.get(f"/v1/customers/{customer_id}/auto-top-up", headers=key)).json()
    assert state["failures"] == 1 and state["enabled"] is True
    rows = await run_sql("SELECT status FROM purchases WHERE customer_id = :c", c=customer_id)
    assert rows == [("failed",)]
    events = await run_sql(
        "SELECT count(*) FROM events WHERE type = 'auto_top_up.failed' AND customer_id = :c",
        c=customer_id,
    )
    assert events == [(1,)]
