"""Small-change hours (seed 001 §2.4): a monthly allowance, work logs against it, no
carry-over, the balance in the customer's balance answer, and the over-allowance rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.conftest import Api
from tests.desk.conftest import Desk, Person


async def _log(desk: Desk, ticket_id: str, minutes: int, role: str = "engineer") -> httpx.Response:
    return await desk.post(
        f"/v1/tickets/{ticket_id}/work-logs", await desk.staff(role),
        {"minutes": minutes, "note": "Added a CSV column to the subscriber report"},
    )  # fmt: skip


async def _hours(desk: Desk, who: Person) -> dict[str, Any]:
    response = await desk.client.get(f"/v1/customers/{who.id}/balance", headers=who.headers)
    assert response.status_code == 200, response.text
    hours: dict[str, Any] = response.json()["change_hours"]
    return hours


async def test_the_allowance_is_used_up_and_refused_beyond(desk: Desk, api: Api) -> None:
    who = await desk.person(credits=1)
    ticket = await desk.ticket(who)
    assert await _hours(desk, who) == {
        "month": "2026-11", "allowance_minutes": 600, "used_minutes": 0,
        "remaining_minutes": 600, "over_minutes": 0, "over_allowance": "refuse",
    }  # fmt: skip
    first = await _log(desk, ticket["id"], 500)
    assert first.status_code == 201, first.text
    assert (first.json()["credits"], first.json()["balance"]["remaining_minutes"]) == (0, 100)
    refused = await _log(desk, ticket["id"], 101, role="admin")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["code"], refused.json()["remaining_minutes"]) == (
        "change_hours_exhausted", 100,
    )  # fmt: skip
    assert (await _log(desk, ticket["id"], 100)).status_code == 201
    assert (await _hours(desk, who))["remaining_minutes"] == 0
    assert await desk.available(who.id) == 0  # the ticket's credit only

    api.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))  # a new month: nothing carries over
    hours = await _hours(desk, who)
    assert (hours["month"], hours["used_minutes"], hours["remaining_minutes"]) == (
        "2026-12",
        0,
        600,
    )
    listed = await desk.client.get(f"/v1/tickets/{ticket['id']}/work-logs", headers=who.headers)
    assert [w["minutes"] for w in listed.json()["data"]] == [500, 100]


async def test_a_customer_may_have_an_allowance_of_its_own(desk: Desk, api: Api) -> None:
    who, other = await desk.person(credits=1), await desk.person(credits=1)
    set_ = await desk.client.put(
        f"/v1/customers/{who.id}/change-allowance", json={"hours_per_month": 2},
        headers=api.admin,
    )  # fmt: skip
    assert set_.status_code == 200 and set_.json()["allowance_minutes"] == 120
    assert (await _hours(desk, other))["allowance_minutes"] == 600
    back = await desk.client.put(
        f"/v1/customers/{who.id}/change-allowance", json={"hours_per_month": None},
        headers=api.admin,
    )  # fmt: skip
    assert back.json()["allowance_minutes"] == 600
    refused = await desk.client.put(
        f"/v1/customers/{who.id}/change-allowance", json={"hours_per_month": 3},
        headers=await desk.staff("engineer"),
    )  # fmt: skip
    assert refused.status_code == 403
    nobody = await desk.client.put(
        "/v1/customers/cus_nope/change-allowance", json={"hours_per_month": 3}, headers=api.admin
    )
    assert nobody.status_code == 404


async def test_the_charge_rule_takes_credits_per_started_hour(desk: Desk, api: Api) -> None:
    api.app.state.settings.change_over_allowance = "charge"
    who = await desk.person(credits=3)
    await desk.client.put(
        f"/v1/customers/{who.id}/change-allowance", json={"hours_per_month": 1}, headers=api.admin
    )
    ticket = await desk.ticket(who)  # 1 credit: 2 left
    credits = []
    for minutes in (50, 20, 45, 10):  # over: 0, 10, 55, 65 minutes → hours 0, 1, 1, 2
        logged = await _log(desk, ticket["id"], minutes)
        assert logged.status_code == 201, logged.text
        credits.append(logged.json()["credits"])
    assert credits == [0, 1, 0, 1]
    hours = await _hours(desk, who)
    assert (hours["used_minutes"], hours["over_minutes"], hours["remaining_minutes"]) == (
        125,
        65,
        0,
    )
    assert await desk.available(who.id) == 0
    charges = [e for e in await desk.entries(who.id) if e["reason"] == "change_hours"]
    assert [e["credits"] for e in charges] == [-1, -1]
    assert all(e["ticket_id"] == ticket["id"] for e in charges)

    broke = await _log(desk, ticket["id"], 60)  # a third started hour, no credit left
    assert (broke.status_code, broke.json()["code"]) == (402, "insufficient_credits")
    assert (await _hours(desk, who))["used_minutes"] == 125  # nothing logged

    # Never refunded automatically: a product bug refunds the ticket's credit only.
    await desk.post(
        f"/v1/tickets/{ticket['id']}/bug-confirmation", await desk.staff("engineer"),
        {"bug_reference": "BUG-9"},
    )  # fmt: skip
    assert [r["reason"] for r in await desk.refunds(who.id)] == ["product_bug"]


async def test_roles_other_customers_and_closed_tickets(desk: Desk) -> None:
    who, other = await desk.person(credits=2), await desk.person(credits=1)
    ticket = await desk.ticket(who)
    for role in ("cr_agent", "finance"):
        assert (await _log(desk, ticket["id"], 10, role=role)).status_code == 403
    as_customer = await desk.post(
        f"/v1/tickets/{ticket['id']}/work-logs", who.headers, {"minutes": 10, "note": "x"}
    )
    assert as_customer.status_code == 403
    hidden = await desk.client.get(f"/v1/tickets/{ticket['id']}/work-logs", headers=other.headers)
    assert hidden.status_code == 404
    assert (await _log(desk, "tkt_nope", 10)).status_code == 404
    for bad in ({"minutes": 0, "note": "x"}, {"minutes": 10, "note": ""}, {"minutes": 10}):
        response = await desk.post(
            f"/v1/tickets/{ticket['id']}/work-logs", await desk.staff("engineer"), bad
        )
        assert response.status_code == 422
    closed = await desk.ticket(who)
    await desk.post(f"/v1/tickets/{closed['id']}/status", who.headers, {"status": "closed"})
    refused = await _log(desk, closed["id"], 10)
    assert (refused.status_code, refused.json()["code"]) == (409, "ticket_closed")
