"""Auto top-up: one off-session purchase per crossing of the threshold, whatever the
concurrency; a declined card emits `auto_top_up.failed` and mails; 3 in a row turn it off."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from app.kit.auth import Role
from app.kit.events import Event
from app.topups.tasks import run_top_ups
from app.webhooks.models import event_payload
from tests.conftest import Api
from tests.schema_check import event_problems


async def _enable(api: Api, customer_id: str, key: dict[str, str], card: str = "ok",
                  threshold: int = 1, pack: str = "five") -> None:  # fmt: skip
    setup = await api.client.post(
        f"/v1/customers/{customer_id}/payment-methods/setup",
        json={"offline_card": card}, headers=key,
    )  # fmt: skip
    assert setup.status_code == 201, setup.text
    assert setup.json()["status"] == "succeeded"
    response = await api.client.put(
        f"/v1/customers/{customer_id}/auto-top-up",
        json={"enabled": True, "pack": pack, "threshold": threshold}, headers=key,
    )  # fmt: skip
    assert response.status_code == 200, response.text


async def _ticket(api: Api, key: dict[str, str], n: int) -> int:
    response = await api.client.post(
        "/v1/tickets",
        json={"line": "technical", "subject": f"Cluster node {n} lost its licence",
              "body": f"Node {n} reports an expired licence."},
        headers=key,
    )  # fmt: skip
    return response.status_code


async def _balance(api: Api, customer_id: str) -> int:
    response = await api.client.get(f"/v1/customers/{customer_id}/balance", headers=api.admin)
    available: int = response.json()["available"]
    return available


async def _run(api: Api) -> int:
    return await run_top_ups(api.db, api.app.state.settings, api.clock.now())


async def test_needs_a_saved_card_and_own_or_admin(api: Api) -> None:
    customer = await api.customer()
    other = await api.customer(name="Other", email="o@example.com")
    own = await api.key(Role.customer, customer["id"])
    path = f"/v1/customers/{customer['id']}/auto-top-up"
    fresh = await api.client.get(path, headers=own)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["enabled"] is False and fresh.json()["payment_method"] is None
    body = {"enabled": True, "pack": "five", "threshold": 1}
    refused = await api.client.put(path, json=body, headers=own)
    assert refused.status_code == 422 and refused.json()["code"] == "payment_method_required"
    unknown = await api.client.put(path, json={**body, "pack": "huge"}, headers=own)
    assert unknown.status_code == 422
    agent = await api.client.put(path, json=body, headers=await api.key(Role.cr_agent))
    assert agent.status_code == 403
    foreign = await api.client.put(
        f"/v1/customers/{other['id']}/auto-top-up", json=body, headers=own
    )
    assert foreign.status_code == 404
    await _enable(api, customer["id"], own)
    shown = (await api.client.get(path, headers=own)).json()
    assert shown["enabled"] is True and shown["payment_method"] == {
        "brand": "Test card",
        "last4": "4242",
    }


async def test_one_purchase_per_crossing(api: Api, run_sql: Any) -> None:
    customer = await api.customer()
    own = await api.key(Role.customer, customer["id"])
    await api.grant(customer["id"], 3)
    await _enable(api, customer["id"], own, threshold=1)
    assert await _ticket(api, own, 1) == 201  # 2
    assert await _run(api) == 0
    assert await _ticket(api, own, 2) == 201  # 1: crossed
    assert await _ticket(api, own, 3) == 201  # 0: no second claim
    assert await _run(api) == 1
    assert await _run(api) == 0  # a retry changes nothing
    assert await _balance(api, customer["id"]) == 5
    purchases = await run_sql(
        "SELECT p.pack, p.status, t.status FROM purchases p JOIN top_ups t"
        " ON t.purchase_id = p.id WHERE p.customer_id = :c",
        c=customer["id"],
    )
    assert purchases == [("five", "succeeded", "succeeded")]
    for n in range(4, 8):  # 5 → 1: a new crossing, a new purchase
        assert await _ticket(api, own, n) == 201
    assert await _run(api) == 1
    assert await _balance(api, customer["id"]) == 6


async def test_declined_card_fails_mails_and_turns_off_after_three(api: Api, run_sql: Any) -> None:
    customer = await api.customer()
    own = await api.key(Role.customer, customer["id"])
    await api.grant(customer["id"], 20)
    await _enable(api, customer["id"], own, card="decline", threshold=18)
    n = 0
    for attempt in range(1, 4):
        # down to the threshold (a crossing), the job's attempt, then back above it
        while await _balance(api, customer["id"]) > 18:
            n += 1
            assert await _ticket(api, own, n) == 201
        assert await _run(api) == 1
        state = (
            await api.client.get(f"/v1/customers/{customer['id']}/auto-top-up", headers=own)
        ).json()
        assert state["failures"] == attempt
        assert state["enabled"] is (attempt < 3)
        await api.grant(customer["id"], 1)
    assert state["disabled_reason"] == "3 payments in a row were declined"
    events = await run_sql(
        "SELECT count(*) FROM events WHERE type = 'auto_top_up.failed' AND customer_id = :c",
        c=customer["id"],
    )
    assert events == [(3,)]
    async with api.db.unit_of_work() as session:  # the bodies webhooks deliver
        rows = await session.execute(select(Event).where(Event.type == "auto_top_up.failed"))
        failures = [event_payload(row) for row in rows.scalars()]
    assert len(failures) == 3
    assert all(not event_problems(event) for event in failures), failures
    mails = await run_sql("SELECT count(*) FROM email_outbox WHERE kind = 'auto_top_up_failed'")
    assert mails == [(3,)]
    # Off now: the next crossing claims nothing.
    while await _balance(api, customer["id"]) > 18:
        n += 1
        assert await _ticket(api, own, n) == 201
    assert await _run(api) == 0
    assert await run_sql("SELECT count(*) FROM purchases") == [(0,)]


@pytest.mark.slow
async def test_fifty_concurrent_charges_make_one_top_up(api: Api, run_sql: Any) -> None:
    customer = await api.customer()
    own = await api.key(Role.customer, customer["id"])
    await api.grant(customer["id"], 60)
    await _enable(api, customer["id"], own, threshold=15)
    statuses = await asyncio.gather(*(_ticket(api, own, n) for n in range(50)))
    assert statuses.count(201) == 50, statuses
    assert await _balance(api, customer["id"]) == 10
    assert await run_sql("SELECT count(*) FROM top_ups") == [(1,)]
    # Several workers at once, and again later: still one purchase.
    done = await asyncio.gather(*(_run(api) for _ in range(4)))
    assert sum(done) == 1
    assert await _run(api) == 0
    purchases = await run_sql("SELECT pack, status FROM purchases")
    assert purchases == [("five", "succeeded")]
    assert await _balance(api, customer["id"]) == 15
