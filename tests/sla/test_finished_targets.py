"""A finished ticket's unmet targets are final: breached, with a due_at that no longer
moves; a merged duplicate is not a resolution met; calendar times match their schema
(issue 12)."""

from __future__ import annotations

import re

from app.main import create_app
from tests.sla.conftest import Sla


async def test_a_resolved_ticket_never_answered_is_breached_with_a_fixed_due_at(sla: Sla) -> None:
    who = await sla.person(credits=1)
    ticket = await sla.ticket(who)
    sla.advance(minutes=30)
    await sla.status(ticket["id"], "resolved")
    first = await sla.sla(ticket["id"])
    sla.advance(days=30)
    later = await sla.sla(ticket["id"])
    for target in ("first_response", "assignment"):
        assert first[target]["met_at"] is None
        assert first[target]["breached"] is True, first[target]
        assert later[target]["due_at"] == first[target]["due_at"] is not None
    assert later["breached"] is True
    assert later["resolution"]["breached"] is False  # resolved within its target


async def test_a_merged_duplicate_is_not_a_resolution_met(sla: Sla) -> None:
    who = await sla.person(credits=2)
    keep, dup = await sla.ticket(who), await sla.ticket(who)
    agent = await sla.staff("cr_agent")
    merged = await sla.post(f"/v1/tickets/{dup['id']}/merge", agent, {"into": keep["id"]})
    assert merged.status_code == 200, merged.text
    params = {"from": "2026-11-02", "to": "2026-11-03"}
    response = await sla.client.get("/v1/reports/sla", params=params, headers=sla.api.admin)
    (row,) = response.json()["rows"]
    assert row["tickets"] == 2
    assert row["resolution_met"] == 0, row


async def test_calendar_times_match_the_declared_schema(sla: Sla) -> None:
    schema = create_app().openapi()["components"]["schemas"]["OpeningHours"]
    pattern = schema["properties"]["opens"]["pattern"]
    assert "format" not in schema["properties"]["opens"]
    response = await sla.client.get("/v1/sla/calendars", headers=sla.api.admin)
    assert response.status_code == 200
    for calendar in response.json()["data"]:
        for hours in calendar["hours"]:
            assert re.match(pattern, hours["opens"]) and re.match(pattern, hours["closes"])
