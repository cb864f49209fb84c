"""The most-urgent ticket (seed 000) and the service-level report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.sla.conftest import Sla


async def test_the_most_urgent_ticket_extends_the_others(sla: Sla) -> None:
    who = await sla.person(credits=3)
    urgent = await sla.ticket(who)
    other = await sla.ticket(who)  # the most urgent by default (the last one) for an hour
    sla.advance(hours=1)
    response = await sla.post(f"/v1/tickets/{urgent['id']}/urgent", who.headers)
    assert response.status_code == 200, response.text
    assert response.json()["sla"]["urgent"] is True
    sla.advance(hours=2)  # ongoing: the other ticket's targets grow with it
    block = await sla.sla(other["id"])
    assert (block["extension_minutes"], block["first_response"]["target_minutes"]) == (120, 600)
    sla.advance(hours=1)
    await sla.status(urgent["id"], "resolved")
    sla.advance(hours=6)  # 10 h since the report: within 8 h + the 3 h the urgent one took
    block = await sla.sla(other["id"])
    assert block["extension_minutes"] == 180 and block["first_response"]["breached"] is False
    assert (await sla.sweep()).compensated == []
    mine = await sla.sla(urgent["id"])
    assert (mine["urgent"], mine["extension_minutes"]) == (False, 60)  # other's default hour
    sla.advance(hours=1, seconds=1)
    assert (await sla.sla(other["id"]))["first_response"]["breached"] is True
    # A later ticket opened after the urgent one was resolved is not extended.
    late = await sla.ticket(who)
    assert late["sla"]["extension_minutes"] == 0


async def test_naming_another_ends_the_previous_and_finished_tickets_refuse(sla: Sla) -> None:
    who = await sla.person(credits=3)
    a, b, c = await sla.ticket(who), await sla.ticket(who), await sla.ticket(who)
    await sla.post(f"/v1/tickets/{a['id']}/urgent", who.headers)
    sla.advance(hours=1)
    await sla.post(f"/v1/tickets/{b['id']}/urgent", who.headers)
    sla.advance(hours=1)
    assert (await sla.sla(a["id"]))["urgent"] is False
    assert (await sla.sla(c["id"]))["extension_minutes"] == 120  # one hour each
    assert (await sla.sla(a["id"]))["extension_minutes"] == 60  # b's hour only
    await sla.status(c["id"], "closed")
    refused = await sla.post(f"/v1/tickets/{c['id']}/urgent", who.headers)
    assert refused.status_code == 409
    stranger = await sla.person()
    hidden = await sla.post(f"/v1/tickets/{a['id']}/urgent", stranger.headers)
    assert hidden.status_code == 404


async def test_the_report_counts_met_and_breached_per_line_and_severity(sla: Sla) -> None:
    # One customer per ticket: a customer's last ticket is its most urgent by default
    # (seed 000) and would extend the others' targets.
    people = [await sla.person(credits=1) for _ in range(5)]
    who = people[0]
    engineer = await sla.staff("engineer")
    answered = [await sla.ticket(p) for p in people[:3]]
    silent = await sla.ticket(people[3])
    await sla.ticket(people[4], "customer_relations", severity=2)
    reported = sla.now
    for hours, ticket in zip((1, 2, 9), answered, strict=True):
        sla.api.clock.set(reported + timedelta(hours=hours))
        await sla.message(ticket["id"], engineer)
        if hours == 1:
            await sla.status(ticket["id"], "resolved")  # within its 8 working hours
    sla.advance(hours=1)  # 10 h on: the silent one is overdue; the free-line one is not
    params = {"from": "2026-11-02", "to": "2026-11-03"}
    response = await sla.client.get("/v1/reports/sla", params=params, headers=engineer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-11-02", "2026-11-03")
    rows = {(r["line"], r["severity"]): r for r in body["rows"]}
    tech = rows[("technical", 3)]
    assert tech == {
        "line": "technical", "severity": 3, "tickets": 4,
        "first_response_met": 2, "first_response_breached": 2,
        "resolution_met": 1, "resolution_breached": 3,
        "first_response_median_hours": 2.0, "first_response_p90_hours": 9.0,
    }  # fmt: skip
    free = rows[("customer_relations", 2)]
    assert (free["tickets"], free["first_response_met"], free["first_response_breached"]) == (
        1,
        0,
        0,
    )
    assert free["first_response_median_hours"] is None
    assert (await sla.sla(silent["id"]))["first_response"]["breached"] is True

    csv_response = await sla.client.get(
        "/v1/reports/sla", params={**params, "format": "csv"}, headers=sla.api.admin
    )
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert [(r["line"], r["severity"], r["tickets"]) for r in table] == [
        ("customer_relations", "2", "1"),
        ("technical", "3", "4"),
    ]
    assert table[0]["first_response_median_hours"] == ""
    assert table[1]["first_response_p90_hours"] == "9.0"

    empty = await sla.client.get(
        "/v1/reports/sla", params={"from": "2026-10-01", "to": "2026-10-02"}, headers=engineer
    )
    assert empty.json()["rows"] == []
    backwards = await sla.client.get(
        "/v1/reports/sla", params={"from": "2026-11-03", "to": "2026-11-02"}, headers=engineer
    )
    assert backwards.status_code == 422
    customer = await sla.client.get("/v1/reports/sla", params=params, headers=who.headers)
    assert customer.status_code == 403
