"""Every event type of issue 13 reaches a real HTTP receiver, signed as Standard Webhooks
says: each body verifies with the `standardwebhooks` package from PyPI, `webhook-id` is
the event id, `data.object` is the resource as the API shows it, and the body validates
against the OpenAPI document's `webhooks` entry of its type."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import SecretStr

from app.desk.sla_sweep import sweep
from app.kit.auth import Role
from billing import service as billing
from billing.stripe_objects import Charge, PaymentIntent
from credits.tasks import sweep_expired
from tests.conftest import Api
from tests.schema_check import event_problems
from tests.webhooks.conftest import Receiver, deliver, endpoint, list_all

OWNED = {
    "customer.created", "ticket.created", "ticket.status_changed", "ticket.message_added",
    "ticket.transfer_requested", "ticket.charged", "ticket.refunded", "credits.granted",
    "credits.expired", "purchase.succeeded", "purchase.failed", "purchase.refunded",
    "sla.breached", "sla.escalated",
}  # fmt: skip


async def _post(api: Api, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await api.client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _stripe_purchases(api: Api, customer_id: str) -> None:
    """A declined card, then a paid purchase refunded in full, as Stripe reports them."""
    stripe = api.app.state.settings.model_copy(update={"stripe_secret_key": SecretStr("sk_x")})
    now = api.clock.now()
    async with api.db.unit_of_work() as session:
        failed = await billing.open_purchase(
            session, customer_id=customer_id, pack_code="five", settings=stripe, now=now
        )
        paid = await billing.open_purchase(
            session, customer_id=customer_id, pack_code="single", settings=stripe, now=now
        )
    async with api.db.unit_of_work() as session:
        await billing.apply_intent(
            session,
            PaymentIntent.parse({"id": "pi_declined", "status": "requires_payment_method", "amount": failed.amount,
             "currency": "eur", "metadata": {"purchase_id": failed.id},
             "last_payment_error": {"message": "Your card was declined."}}),
            now=now, settings=stripe,
        )  # fmt: skip
        await billing.apply_intent(
            session,
            PaymentIntent.parse({"id": "pi_paid", "status": "succeeded", "amount": paid.amount,
             "currency": "eur", "latest_charge": "ch_paid",
             "metadata": {"purchase_id": paid.id}}),
            now=now, settings=stripe,
        )  # fmt: skip
    async with api.db.unit_of_work() as session:
        await billing.apply_refund(
            session,
            Charge.parse(
                {"id": "ch_paid", "payment_intent": "pi_paid", "amount_refunded": paid.amount}
            ),
            now=now,
        )


async def test_every_owned_event_type_is_delivered_signed(api: Api, receiver: Receiver) -> None:
    hook = await endpoint(api, receiver.url)
    assert hook["secret"].startswith("whsec_") and hook["status"] == "enabled"
    admin = api.admin
    cr = await api.key(Role.cr_agent)
    engineer = await api.key(Role.engineer)

    customer = await api.customer(metadata={"crm_id": "42"}, low_balance_threshold=2)
    cid = customer["id"]
    await _post(api, f"/v1/customers/{cid}/adjustments",
                {"credits": 3, "reason": "welcome", "valid_days": 30}, admin)  # fmt: skip
    ticket = await _post(api, "/v1/tickets", {"customer_id": cid, "line": "technical",
                         "subject": "Backups fail nightly", "body": "Since Monday.",
                         "severity": 1, "metadata": {"case": "A-1"}}, admin)  # fmt: skip
    tid = ticket["id"]
    await _post(api, f"/v1/tickets/{tid}/messages", {"body": "internal", "internal": True}, cr)
    api.clock.advance(timedelta(hours=9))  # severity 1: first response missed, level 1
    await sweep(api.db, api.clock.now(), api.app.state.settings)
    await _post(api, f"/v1/tickets/{tid}/messages", {"body": "Looking at it."}, engineer)
    await _post(api, f"/v1/tickets/{tid}/bug-confirmation", {"bug_reference": "BUG-1"}, engineer)
    await _post(api, f"/v1/tickets/{tid}/status", {"status": "resolved"}, engineer)
    free = await _post(api, "/v1/tickets", {"customer_id": cid, "line": "customer_relations",
                       "subject": "Invoice address wrong", "body": "Please fix."}, admin)  # fmt: skip
    await _post(api, f"/v1/tickets/{free['id']}/transfer", {"to_line": "technical"}, cr)
    await _stripe_purchases(api, cid)
    api.clock.advance(timedelta(days=31))
    assert await sweep_expired(api.db, api.clock.now()) > 0

    await deliver(api)
    bodies = receiver.verified(hook["secret"])  # raises unless every signature verifies
    assert {b["type"] for b in bodies} >= OWNED | {"balance.low", "balance.depleted"}
    # Each body is what the OpenAPI document's `webhooks` entry of its type says.
    for body in bodies:
        assert not event_problems(body), (body["type"], event_problems(body), body)
    assert receiver.ids() == [b["id"] for b in bodies]  # webhook-id is the event id
    assert len(set(receiver.ids())) == len(bodies)  # one delivery per event
    for received, body in zip(receiver.requests, bodies, strict=True):
        assert received.headers["webhook-signature"].startswith("v1,")
        assert received.headers["content-type"] == "application/json"
        assert body["id"].startswith("evt_") and "object" in body["data"]

    bodies.sort(key=lambda b: (b["created_at"], b["id"]))
    by_type = {b["type"]: b for b in reversed(bodies)}  # the first of each type
    assert by_type["customer.created"]["data"]["object"]["metadata"] == {"crm_id": "42"}
    created = by_type["ticket.created"]["data"]["object"]
    assert created["id"] == tid and created["metadata"] == {"case": "A-1"}
    assert created["charge"]["credits"] == 1
    assert by_type["ticket.refunded"]["data"]["object"]["charge"]["refund_reason"] == "product_bug"
    changed = by_type["ticket.status_changed"]
    assert changed["previous"] == {"status": "open"}
    assert changed["data"]["object"]["status"] == "resolved"
    assert by_type["ticket.transfer_requested"]["data"]["object"]["status"] == "awaiting_approval"
    assert by_type["ticket.message_added"]["data"]["object"]["body"] == "Looking at it."
    assert all(
        b["data"]["object"]["internal"] is False
        for b in bodies
        if b["type"] == "ticket.message_added"
    )
    assert by_type["credits.granted"]["data"]["object"]["kind"] in ("adjustment", "grant")
    assert by_type["credits.expired"]["data"]["object"]["kind"] == "expiry"
    assert (
        by_type["purchase.failed"]["data"]["object"]["failure_reason"] == "Your card was declined."
    )
    assert by_type["purchase.refunded"]["data"]["object"]["status"] == "refunded"
    assert by_type["purchase.succeeded"]["data"]["object"]["client_secret"] is None
    assert by_type["sla.escalated"]["data"]["object"]["sla"]["escalation_level"] >= 1
    assert by_type["sla.escalated"]["previous"] == {"sla": {"escalation_level": 0}}
    assert {b["customer_id"] for b in bodies} == {cid}

    # The same events, oldest first, from GET /v1/events; a page at a time by cursor.
    seen = await list_all(api, admin, expected=len(bodies))
    # Deliveries go out in parallel, so they arrive in any order; the list is the same set.
    assert len(seen) == len(bodies) and set(seen) == {b["id"] for b in bodies}
    assert seen[0] == next(b["id"] for b in bodies if b["type"] == "customer.created")
    await deliver(api)
    assert len(receiver.requests) == len(bodies)  # nothing is sent twice
