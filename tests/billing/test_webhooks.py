"""Stripe webhooks signed as Stripe signs them, for what localstripe cannot send (refund
and dispute events, invoices) and for the hostile cases: duplicates, out-of-order and
concurrent deliveries, bad signatures. PaymentIntents are the real ones localstripe made."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import stripe

from credits import service as ledger
from tests.billing.conftest import WEBHOOK_SECRET, balance, deliver, event, sign
from tests.billing.helpers import (
    declined,
    dispute,
    invoice,
    refunded_charge,
    stripe_purchase,
    succeeded,
)
from tests.conftest import Api


async def purchase_state(api: Api, purchase_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/purchases/{purchase_id}", headers=api.admin)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def grants(run_sql: Any, purchase_id: str) -> int:
    rows = await run_sql(
        "SELECT count(*) FROM journal_transactions WHERE kind = 'grant' AND purchase_id = :p",
        p=purchase_id,
    )
    return int(rows[0][0])


async def inbox(run_sql: Any) -> list[tuple[str, str, str]]:
    rows = await run_sql("SELECT event_id, type, state FROM payment_events ORDER BY id")
    return [tuple(r) for r in rows]


async def cash(run_sql: Any, account: str = "cash:stripe") -> int:
    rows = await run_sql(
        "SELECT coalesce(sum(amount), 0) FROM journal_lines WHERE account = :a", a=account
    )
    return int(rows[0][0])


async def test_success_grants_once_whatever_the_repeats(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    assert purchase["status"] == "pending" and purchase["provider"] == "stripe"
    payload = event("payment_intent.succeeded", succeeded(intent), event_id="evt_ok_1")

    first = await deliver(api.client, payload)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "event_id": "evt_ok_1", "outcome": "processed"}
    again = await deliver(api.client, payload)
    assert again.json()["outcome"] == "duplicate"
    other_event = event("payment_intent.succeeded", succeeded(intent), event_id="evt_ok_2")
    assert (await deliver(api.client, other_event)).json()["outcome"] == "processed"

    assert (await balance(api, customer_id))["available"] == 5
    assert await grants(run_sql, purchase["id"]) == 1
    state = await purchase_state(api, purchase["id"])
    assert state["status"] == "succeeded" and state["client_secret"] is None
    assert await cash(run_sql) == 10000
    assert [e[0] for e in await inbox(run_sql)] == ["evt_ok_1", "evt_ok_2"]


async def test_twenty_concurrent_deliveries_grant_once(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    payload = event("payment_intent.succeeded", succeeded(intent), event_id="evt_race")
    responses = await asyncio.gather(*(deliver(api.client, payload) for _ in range(20)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["duplicate"] * 19 + ["processed"]
    # Twenty distinct events about the same PaymentIntent, at once: still one grant.
    distinct = [
        event("payment_intent.succeeded", succeeded(intent), event_id=f"evt_race_{i}")
        for i in range(20)
    ]
    responses = await asyncio.gather(*(deliver(api.client, p) for p in distinct))
    assert {r.status_code for r in responses} == {200}
    assert (await balance(api, customer_id))["available"] == 5
    assert await grants(run_sql, purchase["id"]) == 1


async def test_bad_signatures_are_refused_and_change_nothing(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    payload = event("payment_intent.succeeded", succeeded(intent), event_id="evt_forged")
    now = int(api.clock.now().timestamp())
    tampered = payload.replace('"amount": 10000', '"amount": 10001')
    assert tampered != payload
    cases = {
        "tampered body": (tampered, sign(payload)),
        "wrong secret": (payload, sign(payload, secret="whsec_someone_else")),
        "stale timestamp": (payload, sign(payload, timestamp=now - 301)),
        "future +1 day": (payload, sign(payload, timestamp=now + 86_400)),
        "future +10 years": (payload, sign(payload, timestamp=now + 10 * 365 * 86_400)),
        "future beyond tolerance": (payload, sign(payload, timestamp=now + 400)),
        "garbage header": (payload, "t=abc,v1=zzz"),
        "no v1 signature": (payload, f"t={now}"),
    }
    for name, (body, signature) in cases.items():
        response = await deliver(api.client, body, signature=signature)
        assert response.status_code == 400, name
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "invalid_signature", name
    missing = await api.client.post(
        "/v1/webhooks/stripe", content=payload, headers={"Content-Type": "application/json"}
    )
    assert missing.status_code == 400 and missing.json()["code"] == "invalid_signature"
    not_utf8 = b"\xff\xfe" + payload.encode()
    response = await api.client.post(
        "/v1/webhooks/stripe",
        content=not_utf8,
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 400

    assert await inbox(run_sql) == []
    assert (await balance(api, customer_id))["available"] == 0
    assert (await purchase_state(api, purchase["id"]))["status"] == "pending"
    # The genuine event still goes through afterwards (within the tolerance: 300 s).
    fresh = await deliver(api.client, payload, signature=sign(payload, timestamp=now - 200))
    assert fresh.json()["outcome"] == "processed"
    assert WEBHOOK_SECRET not in fresh.text


async def test_signed_but_malformed_event_is_refused(api: Api, run_sql: Any) -> None:
    for body in ('{"id": "evt_x", "type": "charge.refunded"}', "[1, 2]", '{"id": 5}'):
        response = await deliver(api.client, body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "invalid_event"
    assert await inbox(run_sql) == []


async def test_unknown_and_foreign_events_are_stored_and_ignored(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    unknown = event("customer.created", {"id": "cus_S1", "object": "customer"}, event_id="evt_u")
    response = await deliver(api.client, unknown)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    foreign = {"id": "pi_foreign", "object": "payment_intent", "amount": 500, "currency": "eur",
               "status": "succeeded", "metadata": {}}  # fmt: skip
    response = await deliver(
        api.client, event("payment_intent.succeeded", foreign, event_id="evt_f")
    )
    assert response.json()["outcome"] == "ignored"
    assert await inbox(run_sql) == [
        ("evt_u", "customer.created", "ignored"),
        ("evt_f", "payment_intent.succeeded", "ignored"),
    ]


async def test_an_intent_for_another_amount_is_rejected(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    cheap = {**succeeded(intent), "amount": 50}
    response = await deliver(api.client, event("payment_intent.succeeded", cheap, event_id="e1"))
    assert response.json()["outcome"] == "rejected"
    assert (await balance(api, customer_id))["available"] == 0
    assert await grants(run_sql, purchase["id"]) == 0


async def test_failure_then_success_and_late_failure(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    failed = event("payment_intent.payment_failed", declined(intent), event_id="evt_fail_1")
    assert (await deliver(api.client, failed)).json()["outcome"] == "processed"
    state = await purchase_state(api, purchase["id"])
    assert state["status"] == "failed"
    assert state["failure_reason"] == "Your card was declined."
    assert state["client_secret"] == purchase["client_secret"]  # the customer may retry
    ok = event("payment_intent.succeeded", succeeded(intent), event_id="evt_ok")
    assert (await deliver(api.client, ok)).json()["outcome"] == "processed"
    late = event("payment_intent.payment_failed", declined(intent), event_id="evt_fail_0")
    assert (await deliver(api.client, late)).json()["outcome"] == "processed"
    assert (await purchase_state(api, purchase["id"]))["status"] == "succeeded"
    assert (await balance(api, customer_id))["available"] == 5


async def _use_credits(api: Api, customer_id: str, credits: int, now: datetime) -> None:
    async with api.db.unit_of_work() as session:
        await ledger.charge(session, customer_id, now=now, credits=credits)


async def test_refunds_revoke_unused_credits_by_amount_deltas(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    ok = event("payment_intent.succeeded", succeeded(intent), event_id="evt_paid")
    await deliver(api.client, ok)
    await _use_credits(api, customer_id, 2, api.clock.now())

    # €30 of a €100 five-pack (credits worth €20): 2 of the 3 unused credits cover it.
    partial = event("charge.refunded", refunded_charge(intent, 3000), event_id="evt_r1")
    assert (await deliver(api.client, partial)).json()["outcome"] == "processed"
    assert (await balance(api, customer_id))["available"] == 1
    state = await purchase_state(api, purchase["id"])
    assert state["status"] == "partially_refunded"
    assert state["amount_refunded"] == {"amount": 3000, "currency": "EUR"}
    assert await cash(run_sql) == 10000 - 3000

    same_total = event("charge.refunded", refunded_charge(intent, 3000), event_id="evt_r1b")
    await deliver(api.client, same_total)
    assert await cash(run_sql) == 7000
    assert (await balance(api, customer_id))["available"] == 1
    full = event("charge.refunded", refunded_charge(intent, 10000), event_id="evt_r2")
    await deliver(api.client, full)
    stale = event("charge.refunded", refunded_charge(intent, 3000), event_id="evt_r0")
    await deliver(api.client, stale)
    state = await purchase_state(api, purchase["id"])
    assert state["status"] == "refunded"
    assert state["amount_refunded"]["amount"] == 10000
    assert await cash(run_sql) == 0
    assert (await balance(api, customer_id))["available"] == 0
    rows = await run_sql(
        "SELECT count(*) FROM journal_transactions WHERE kind = 'revoke' AND purchase_id = :p",
        p=purchase["id"],
    )
    assert rows[0][0] == 2
    # 3 credits worth 6000 revoked; the 4000 refunded beyond them reverses revenue
    assert await cash(run_sql, "revenue:refunds") == 4000
    assert await cash(run_sql, "revenue:support") == -4000


async def test_events_before_the_payment_are_parked_then_applied(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    early_dispute = event(
        "charge.dispute.created", dispute(intent, status="needs_response"), event_id="evt_d1",
        created=100,
    )  # fmt: skip
    early_refund = event(
        "charge.refunded", refunded_charge(intent, 4000), event_id="evt_r1", created=200
    )
    assert (await deliver(api.client, early_refund)).json()["outcome"] == "parked"
    assert (await deliver(api.client, early_dispute)).json()["outcome"] == "parked"
    assert (await balance(api, customer_id))["available"] == 0

    ok = event("payment_intent.succeeded", succeeded(intent), event_id="evt_ok", created=50)
    assert (await deliver(api.client, ok)).json()["outcome"] == "processed"
    # Applied in Stripe's order: the dispute (created 100) froze all 5, the refund then
    # found no unused credit to revoke but recorded the money.
    now = await balance(api, customer_id)
    assert (now["available"], now["frozen"]) == (0, 5)
    state = await purchase_state(api, purchase["id"])
    assert state["dispute_status"] == "open" and state["status"] == "disputed"
    assert state["dispute"] == {"status": "open", "reason": "fraudulent"}
    assert state["amount_refunded"]["amount"] == 4000
    assert {e[0]: e[2] for e in await inbox(run_sql)} == {
        "evt_r1": "processed",
        "evt_d1": "processed",
        "evt_ok": "processed",
    }
    assert await cash(run_sql) == 10000 - 4000


async def test_dispute_won_releases_and_repeats_change_nothing(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    await deliver(api.client, event("payment_intent.succeeded", succeeded(intent), event_id="e0"))
    await _use_credits(api, customer_id, 1, api.clock.now())
    opened = event("charge.dispute.created", dispute(intent, status="needs_response"),
                   event_id="evt_d1")  # fmt: skip
    await deliver(api.client, opened)
    await deliver(api.client, event("charge.dispute.created",
                                     dispute(intent, status="under_review"), event_id="evt_d2"))  # fmt: skip
    held = await balance(api, customer_id)
    assert (held["available"], held["frozen"]) == (0, 4)
    closed = event("charge.dispute.closed", dispute(intent, status="won"), event_id="evt_d3")
    await deliver(api.client, closed)
    await deliver(api.client, event("charge.dispute.closed", dispute(intent, status="won"),
                                    event_id="evt_d4"))  # fmt: skip
    await deliver(api.client, opened.replace("evt_d1", "evt_d5"))
    back = await balance(api, customer_id)
    assert (back["available"], back["frozen"]) == (4, 0)
    state = await purchase_state(api, purchase["id"])
    assert state["dispute"] == {"status": "won", "reason": "fraudulent"}
    assert state["status"] == "succeeded" and state["amount_refunded"]["amount"] == 0
    assert await cash(run_sql) == 10000


async def test_dispute_lost_revokes_frozen_credits_even_out_of_order(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    customer_id, purchase, intent = await stripe_purchase(api, stripe_client)
    await deliver(api.client, event("payment_intent.succeeded", succeeded(intent), event_id="e0"))
    await _use_credits(api, customer_id, 2, api.clock.now())
    lost = event("charge.dispute.closed", dispute(intent, status="lost"), event_id="evt_lost")
    assert (await deliver(api.client, lost)).json()["outcome"] == "processed"
    opened_late = event("charge.dispute.created", dispute(intent, status="needs_response"),
                        event_id="evt_open")  # fmt: skip
    assert (await deliver(api.client, opened_late)).json()["outcome"] == "processed"
    after = await balance(api, customer_id)
    assert (after["available"], after["frozen"]) == (0, 0)
    state = await purchase_state(api, purchase["id"])
    assert state["status"] == "disputed" and state["dispute"]["status"] == "lost"
    assert state["amount_refunded"] == {"amount": 10000, "currency": "EUR"}
    assert await cash(run_sql) == 0
    revoked = await run_sql(
        "SELECT coalesce(sum(amount), 0) FROM journal_lines WHERE account = 'credits:revoked'"
    )
    assert revoked[0][0] == 3


async def test_paid_invoices_count_as_spend_once(api: Api, run_sql: Any) -> None:
    mapped = await api.customer(external_ref="cus_StripeAcme1")
    by_metadata = await api.customer(name="Beta", email="beta@example.com")
    paid = invoice("in_1", amount_paid=25000, customer="cus_StripeAcme1")
    response = await deliver(api.client, event("invoice.paid", paid, event_id="evt_i1"))
    assert response.json()["outcome"] == "processed"
    await deliver(api.client, event("invoice.paid", paid, event_id="evt_i1_again"))
    assert (await balance(api, mapped["id"]))["available"] == 2
    assert (await balance(api, mapped["id"]))["spend"]["total"]["amount"] == 25000

    tagged = invoice("in_2", amount_paid=10000, customer=None,
                     metadata={"creditdesk_customer_id": by_metadata["id"]})  # fmt: skip
    await deliver(api.client, event("invoice.paid", tagged, event_id="evt_i2"))
    assert (await balance(api, by_metadata["id"]))["available"] == 1

    pack = invoice("in_3", amount_paid=30000, customer="cus_StripeAcme1",
                   metadata={"purchase_id": "pur_x"})  # fmt: skip
    dollars = {**invoice("in_4", amount_paid=90000, customer="cus_StripeAcme1"), "currency": "usd"}
    for i, obj in enumerate((pack, dollars)):
        response = await deliver(api.client, event("invoice.paid", obj, event_id=f"evt_n{i}"))
        assert response.json()["outcome"] == "ignored"
    assert (await balance(api, mapped["id"]))["available"] == 2


async def test_invoice_of_an_unknown_customer_waits_for_sync(
    api: Api, run_sql: Any, settings: Any
) -> None:
    from billing.tasks import sync_payments

    paid = invoice("in_9", amount_paid=10000, customer="cus_StripeLater")
    response = await deliver(api.client, event("invoice.paid", paid, event_id="evt_i9"))
    assert response.json()["outcome"] == "parked"
    report = await sync_payments(api.db, None, settings, api.clock.now())
    assert report.parked_applied == 0
    customer = await api.customer(external_ref="cus_StripeLater")
    report = await sync_payments(api.db, None, settings, api.clock.now())
    assert report.parked_applied == 1
    assert (await balance(api, customer["id"]))["available"] == 1
    assert await inbox(run_sql) == [("evt_i9", "invoice.paid", "processed")]
