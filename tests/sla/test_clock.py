"""A ticket's clock: the `sla` block, pauses while waiting on the customer, the first
public staff message as first response, assignment, and the calendars of each line.
START (tests/conftest.py) is Monday 2026-11-02 09:00 UTC = 12:00 in Moscow."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.sla.conftest import Sla


def iso(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> str:
    moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return moment.isoformat().replace("+00:00", "Z")


async def test_a_new_technical_ticket_carries_its_targets(sla: Sla) -> None:
    who = await sla.person(credits=1)
    ticket = await sla.ticket(who)
    block = ticket["sla"]
    assert block["category"] == "product_issue"
    assert block["calendar"] == "technical"
    assert (block["state"], block["paused"], block["breached"]) == ("running", False, False)
    assert block["elapsed_minutes"] == 0 and block["escalation_level"] == 0
    # Technical support runs 24/7: 8 h, 1 h and one working day (8 h) from 09:00.
    assert block["first_response"] == {
        "target_minutes": 480, "due_at": iso(2026, 11, 2, 17), "met_at": None, "breached": False
    }  # fmt: skip
    assert block["assignment"]["due_at"] == iso(2026, 11, 2, 10)
    assert block["resolution"]["target_minutes"] == 480


async def test_customer_relations_counts_moscow_office_hours(sla: Sla) -> None:
    who = await sla.person()
    ticket = await sla.ticket(who, "customer_relations", category="third_party")
    block = ticket["sla"]
    assert block["calendar"] == "customer_relations"
    # 24 working hours from Monday 12:00 MSK on Mon–Fri 03:00–19:00: 7 h on Monday,
    # 16 h on Tuesday, 1 h on Wednesday: due Wednesday 04:00 MSK = 01:00 UTC.
    assert block["first_response"]["due_at"] == iso(2026, 11, 4, 1)
    assert block["first_response"]["target_minutes"] == 24 * 60
    sla.advance(hours=12)  # 21:00 MSK: 7 working hours have passed, not 12
    assert (await sla.sla(ticket["id"]))["elapsed_minutes"] == 7 * 60


async def test_severity_one_runs_around_the_clock_on_any_line(sla: Sla) -> None:
    who = await sla.person()
    ticket = await sla.ticket(who, "customer_relations", severity=1)
    assert ticket["sla"]["calendar"] == "24/7"
    assert ticket["sla"]["first_response"]["due_at"] == iso(2026, 11, 2, 17)


async def test_waiting_on_the_customer_stops_the_clock_until_they_answer(sla: Sla) -> None:
    who = await sla.person(credits=1)
    ticket = await sla.ticket(who)
    tid = ticket["id"]
    sla.advance(hours=2)
    await sla.status(tid, "waiting_on_customer")
    sla.advance(hours=10)
    block = await sla.sla(tid)
    assert (block["state"], block["paused"]) == ("paused", True)
    assert block["elapsed_minutes"] == 120
    assert block["first_response"]["breached"] is False
    await sla.message(tid, who.headers)  # the answer restarts the clock; it is no response
    block = await sla.sla(tid)
    assert (block["state"], block["paused"]) == ("running", False)
    assert block["first_response"]["met_at"] is None
    # Due 8 working hours after 09:00, plus the 10 hours it waited: 03:00 the next day.
    assert block["first_response"]["due_at"] == iso(2026, 11, 3, 3)
    sla.advance(hours=6)
    assert (await sla.sla(tid))["first_response"]["breached"] is False
    sla.advance(seconds=1)
    block = await sla.sla(tid)
    assert block["first_response"]["breached"] is True and block["breached"] is True
    kinds = [e["kind"] for e in await sla.history(tid)]
    assert kinds == ["started", "paused", "resumed"]


async def test_the_first_public_staff_message_is_the_first_response(sla: Sla) -> None:
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who))["id"]
    engineer = await sla.staff("engineer")
    sla.advance(hours=1)
    await sla.message(tid, engineer, internal=True)  # a note is no answer
    await sla.message(tid, who.headers)
    assert (await sla.sla(tid))["first_response"]["met_at"] is None
    sla.advance(hours=2)
    await sla.message(tid, engineer)
    sla.advance(hours=20)
    await sla.message(tid, engineer)
    first = (await sla.sla(tid))["first_response"]
    assert first == {
        "target_minutes": 480, "due_at": None, "met_at": iso(2026, 11, 2, 12), "breached": False
    }  # fmt: skip


async def test_a_late_first_response_is_breached_for_good(sla: Sla) -> None:
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who))["id"]
    sla.advance(hours=8, seconds=1)
    await sla.message(tid, await sla.staff("cr_agent"))
    block = await sla.sla(tid)
    assert block["first_response"]["breached"] is True
    assert block["first_response"]["met_at"] == iso(2026, 11, 2, 17, 0, 1)


async def test_assignment_records_the_engineer(sla: Sla) -> None:
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who))["id"]
    sla.advance(minutes=45)
    engineer = await sla.staff("engineer")
    response = await sla.post(f"/v1/tickets/{tid}/assign", engineer, {"assignee": "Olga"})
    assert response.status_code == 200, response.text
    block = response.json()["sla"]
    assert block["assignee"] == "Olga"
    assert block["assignment"]["met_at"] == iso(2026, 11, 2, 9, 45)
    assert block["assignment"]["breached"] is False
    sla.advance(hours=2)  # a reassignment changes the engineer, not when the target was met
    response = await sla.post(f"/v1/tickets/{tid}/assign", engineer, {"assignee": "Ivan"})
    block = response.json()["sla"]
    assert block["assignee"] == "Ivan"
    assert block["assignment"]["met_at"] == iso(2026, 11, 2, 9, 45)
    assert [e["detail"] for e in await sla.history(tid) if e["kind"] == "assigned"] == [
        "Olga",
        "Ivan",
    ]
    # Customers cannot assign; an empty name is malformed; a closed ticket refuses.
    denied = await sla.post(f"/v1/tickets/{tid}/assign", who.headers, {"assignee": "Me"})
    assert denied.status_code == 403
    empty = await sla.post(f"/v1/tickets/{tid}/assign", engineer, {"assignee": " "})
    assert empty.status_code == 422
    await sla.status(tid, "closed")
    closed = await sla.post(f"/v1/tickets/{tid}/assign", engineer, {"assignee": "Olga"})
    assert closed.status_code == 409
    assert closed.json()["code"] == "invalid_transition"


async def test_resolving_stops_the_clock_and_reopening_restarts_it(sla: Sla) -> None:
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who))["id"]
    sla.advance(hours=3)
    await sla.status(tid, "resolved")
    sla.advance(hours=30)
    block = await sla.sla(tid)
    assert block["state"] == "stopped" and block["paused"] is False
    assert block["elapsed_minutes"] == 180
    assert block["resolution"]["met_at"] == iso(2026, 11, 2, 12)
    assert block["resolution"]["breached"] is False
    response = await sla.post(f"/v1/tickets/{tid}/status", who.headers, {"status": "open"})
    assert response.status_code == 200, response.text
    sla.advance(hours=1)
    block = await sla.sla(tid)
    assert block["state"] == "running" and block["elapsed_minutes"] == 240
    assert block["resolution"]["met_at"] is None
    kinds = [e["kind"] for e in await sla.history(tid)]
    assert kinds == ["started", "resolved", "reopened"]


async def test_lists_carry_the_block_too(sla: Sla) -> None:
    who = await sla.person(credits=1)
    await sla.ticket(who)
    response = await sla.client.get("/v1/tickets", headers=who.headers)
    assert response.status_code == 200
    assert response.json()["data"][0]["sla"]["calendar"] == "technical"
