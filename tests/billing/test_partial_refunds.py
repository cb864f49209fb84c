"""Partial and full refunds on localstripe: the refund is made with the real SDK against
localstripe, which records it but sends no `charge.refunded`; the event is then delivered
signed as Stripe signs it (with the charge localstripe returns), or found by
`sync-payments`, which lists the PaymentIntent's refunds through the SDK."""

from __future__ import annotations

from typing import Any

import stripe

from app.settings import Settings
from billing.tasks import sync_payments
from credits import service as ledger
from tests.billing.conftest import VISA_OK, balance, deliver, event
from tests.billing.helpers import stripe_purchase
from tests.billing.test_stripe_purchases import pay
from tests.conftest import Api


async def account(run_sql: Any, name: str) -> int:
    rows = await run_sql(
        "SELECT coalesce(sum(amount), 0) FROM journal_lines WHERE account = :a", a=name
    )
    return int(rows[0][0])


async def paid_five_pack(
    api: Api, stripe_client: stripe.StripeClient, settings: Settings, *, used: int
) -> tuple[str, dict[str, Any]]:
    """A five-pack paid on localstripe (granted by sync-payments), `used` credits spent."""
    customer_id, purchase, _ = await stripe_purchase(api, stripe_client, pack="five")
    await pay(stripe_client, purchase["payment_intent_id"], VISA_OK)
    await sync_payments(api.db, api.app.state.payments, settings, api.clock.now())
    assert (await balance(api, customer_id))["available"] == 5
    if used:
        async with api.db.unit_of_work() as session:
            await ledger.charge(session, customer_id, now=api.clock.now(), credits=used)
    return customer_id, purchase


async def refund(stripe_client: stripe.StripeClient, intent_id: str, amount: int) -> str:
    """Refunds on localstripe; the charge as Stripe would send it in `charge.refunded`."""
    made = await stripe_client.v1.refunds.create_async(
        params={"payment_intent": intent_id, "amount": amount}
    )
    charge = (await stripe_client.v1.charges.retrieve_async(str(made.charge))).to_dict()
    return event("charge.refunded", charge, event_id=f"evt_{made.id}")


async def purchase_state(api: Api, purchase_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/purchases/{purchase_id}", headers=api.admin)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def reconcile_ok(api: Api) -> None:
    from credits.reconcile import reconcile

    async with api.db.unit_of_work() as session:
        report = await reconcile(session)
    assert report.ok, report.render()


async def test_twenty_euro_refund_of_a_five_pack_with_four_unused_revokes_one(
    api: Api, stripe_client: stripe.StripeClient, settings: Settings, run_sql: Any
) -> None:
    customer_id, purchase = await paid_five_pack(api, stripe_client, settings, used=1)
    payload = await refund(stripe_client, purchase["payment_intent_id"], 2000)
    assert (await deliver(api.client, payload)).json()["outcome"] == "processed"
    assert (await balance(api, customer_id))["available"] == 3
    assert await account(run_sql, "credits:revoked") == 1
    assert await account(run_sql, "cash:stripe") == 10000 - 2000
    assert await account(run_sql, "revenue:refunds") == 0  # the credit covers the €20 exactly
    assert await account(run_sql, "deferred_revenue") == -3 * 2000
    state = await purchase_state(api, purchase["id"])
    assert state["status"] == "partially_refunded"
    assert state["amount_refunded"] == {"amount": 2000, "currency": "EUR"}
    # the same event again, and sync-payments, change nothing
    await deliver(api.client, payload.replace('"id": "evt_', '"id": "evt_again_'))
    await sync_payments(api.db, api.app.state.payments, settings, api.clock.now())
    assert (await balance(api, customer_id))["available"] == 3
    # a second partial refund (€15, cumulative €35) counts the first: one more credit
    # covers it, and the €5 it was worth beyond the money is recognised
    second = await refund(stripe_client, purchase["payment_intent_id"], 1500)
    assert (await deliver(api.client, second)).json()["outcome"] == "processed"
    assert (await balance(api, customer_id))["available"] == 2
    assert await account(run_sql, "revenue:refunds") == -500
    await reconcile_ok(api)


async def test_full_refund_after_two_used_revokes_three_and_reverses_nothing_else(
    api: Api, stripe_client: stripe.StripeClient, settings: Settings, run_sql: Any
) -> None:
    customer_id, purchase = await paid_five_pack(api, stripe_client, settings, used=2)
    payload = await refund(stripe_client, purchase["payment_intent_id"], 10000)
    assert (await deliver(api.client, payload)).json()["outcome"] == "processed"
    assert (await balance(api, customer_id))["available"] == 0
    assert await account(run_sql, "credits:revoked") == 3
    assert await account(run_sql, "credits:consumed") == 2  # used stay used
    assert await account(run_sql, "revenue:support") == -4000  # recognised: not touched
    assert await account(run_sql, "revenue:refunds") == 4000  # refunded beyond the unused
    assert await account(run_sql, "deferred_revenue") == 0
    assert await account(run_sql, "cash:stripe") == 0
    assert (await purchase_state(api, purchase["id"]))["status"] == "refunded"
    await reconcile_ok(api)


async def test_a_refund_the_webhook_missed_is_found_by_sync_payments_once(
    api: Api, stripe_client: stripe.StripeClient, settings: Settings, run_sql: Any
) -> None:
    customer_id, purchase = await paid_five_pack(api, stripe_client, settings, used=1)
    missed = await refund(stripe_client, purchase["payment_intent_id"], 2000)  # not delivered
    gateway = api.app.state.payments
    first = await sync_payments(api.db, gateway, settings, api.clock.now())
    assert first.errors == [] and first.refunds_applied == 1
    again = await sync_payments(api.db, gateway, settings, api.clock.now())
    assert again.refunds_applied == 0
    # the webhook arrives late after all: nothing more happens
    assert (await deliver(api.client, missed)).json()["outcome"] == "processed"
    assert (await balance(api, customer_id))["available"] == 3
    revokes = await run_sql(
        "SELECT count(*) FROM journal_transactions WHERE kind = 'revoke' AND purchase_id = :p",
        p=purchase["id"],
    )
    assert revokes[0][0] == 1
    assert await account(run_sql, "cash:stripe") == 8000
    assert (await purchase_state(api, purchase["id"]))["amount_refunded"]["amount"] == 2000
    await reconcile_ok(api)
