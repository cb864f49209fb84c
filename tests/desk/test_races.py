"""Races through the ASGI app: every request has its own session and database connection,
so these are real concurrent transactions (row locks, the ticket-number sequence, the
idempotency key's unique index)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.desk.conftest import Desk


def _codes(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter(
        (r.status_code, r.json().get("code", "") if r.status_code >= 400 else "") for r in responses
    )


async def test_one_idempotency_key_twenty_times_at_once(desk: Desk, run_sql: Any) -> None:
    ann = await desk.person(credits=5)
    payload = {"line": "technical", "subject": "Backups stopped", "body": "Since Monday."}
    headers = {**ann.headers, "Idempotency-Key": "cabinet-submit-7f3a"}
    responses = await asyncio.gather(
        *(desk.client.post("/v1/tickets", json=payload, headers=headers) for _ in range(20))
    )
    assert _codes(list(responses)) == Counter({(201, ""): 20})
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert (await run_sql("SELECT count(*) FROM tickets"))[0][0] == 1
    charges = [e for e in await desk.entries(ann.id) if e["kind"] == "charge"]
    assert len(charges) == 1
    assert await desk.available(ann.id) == 4


async def test_hundred_submissions_with_ten_credits(desk: Desk, run_sql: Any) -> None:
    bea = await desk.person(credits=10)
    responses = await asyncio.gather(
        *(desk.submit(bea, "technical", subject=f"Disk alert on node {i}") for i in range(100))
    )
    assert _codes(list(responses)) == Counter({(201, ""): 10, (402, "insufficient_credits"): 90})
    assert (await run_sql("SELECT count(*) FROM tickets"))[0][0] == 10
    assert await desk.available(bea.id) == 0
    numbers = sorted(r.json()["number"] for r in responses if r.status_code == 201)
    assert len(set(numbers)) == 10


async def test_identical_submissions_at_once_make_one_ticket(desk: Desk) -> None:
    cid = await desk.person(credits=10)
    responses = await asyncio.gather(
        *(desk.submit(cid, subject="VPN drops hourly", body="Every hour, on the hour.")
          for _ in range(10))
    )  # fmt: skip
    assert _codes(list(responses)) == Counter({(201, ""): 1, (409, "duplicate_ticket"): 9})
    first = next(r.json() for r in responses if r.status_code == 201)
    assert all(r.json()["ticket_id"] == first["id"] for r in responses if r.status_code == 409)
    assert await desk.available(cid.id) == 9


async def test_numbers_unique_across_customers_at_once(desk: Desk) -> None:
    people = [await desk.person() for _ in range(5)]
    responses = await asyncio.gather(
        *(desk.submit(p, "customer_relations") for p in people for _ in range(6))
    )
    assert all(r.status_code == 201 for r in responses)
    numbers = [r.json()["number"] for r in responses]
    assert len(set(numbers)) == 30


async def test_bug_confirmation_transfer_back_and_merge_race(desk: Desk) -> None:
    dee = await desk.person(credits=10)
    engineer, agent = await desk.staff("engineer"), await desk.staff("cr_agent")
    pairs = [(await desk.ticket(dee), await desk.ticket(dee)) for _ in range(4)]
    assert await desk.available(dee.id) == 2
    calls = []
    for ticket, survivor in pairs:
        tid = ticket["id"]
        calls += [
            desk.post(f"/v1/tickets/{tid}/bug-confirmation", engineer, {"bug_reference": "BUG-9"}),
            desk.post(f"/v1/tickets/{tid}/transfer", agent, {"to_line": "customer_relations"}),
            desk.post(f"/v1/tickets/{tid}/merge", agent, {"into": survivor["id"]}),
        ]
    responses = await asyncio.gather(*calls)
    for response in responses:
        assert response.status_code in (200, 409), response.text
        if response.status_code == 409:
            assert response.json()["code"] == "invalid_transition"
    refunds = await desk.refunds(dee.id)
    refunded = Counter(r["ticket_id"] for r in refunds)
    assert refunded == Counter({ticket["id"]: 1 for ticket, _ in pairs})
    for ticket, survivor in pairs:
        charge = (await desk.get_ticket(ticket["id"]))["charge"]
        assert charge["refunded"] is True
        assert charge["refund_reason"] in ("product_bug", "misrouted", "merged")
        assert (await desk.get_ticket(survivor["id"]))["charge"]["refunded"] is False
    assert await desk.available(dee.id) == 6


async def test_double_accept_charges_once(desk: Desk) -> None:
    eli = await desk.person(credits=3)
    ticket = await desk.ticket(eli, "customer_relations")
    await desk.post(
        f"/v1/tickets/{ticket['id']}/transfer", desk.api.admin, {"to_line": "technical"}
    )
    responses = await asyncio.gather(
        *(desk.post(f"/v1/tickets/{ticket['id']}/transfer/accept", eli.headers) for _ in range(5))
    )
    assert _codes(list(responses)) == Counter({(200, ""): 1, (409, "invalid_transition"): 4})
    assert await desk.available(eli.id) == 2
