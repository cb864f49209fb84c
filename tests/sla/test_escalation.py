"""Escalation by elapsed time (seed 002), idempotent, recorded on the ticket's history;
and the optional compensation of a missed first response, refunded once."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.sla.conftest import Sla

BOUNDARIES = {1: (8 * 3600, 24 * 3600), 2: (3, 7), 3: (10, 14), 4: (45, 60)}


def thresholds(severity: int) -> tuple[timedelta, timedelta]:
    first, second = BOUNDARIES[severity]
    if severity == 1:
        return timedelta(seconds=first), timedelta(seconds=second)
    return timedelta(days=first), timedelta(days=second)


@pytest.mark.parametrize("severity", [1, 2, 3, 4])
async def test_escalation_at_each_boundary(sla: Sla, severity: int) -> None:
    who = await sla.person(credits=1)
    ticket = await sla.ticket(who, severity=severity)
    tid, created = ticket["id"], sla.now
    first, second = thresholds(severity)

    sla.api.clock.set(created + first - timedelta(seconds=1))
    assert (await sla.sweep()).escalations == []
    sla.api.clock.set(created + first)
    assert (await sla.sweep()).escalations == [(ticket["number"], 1)]
    assert (await sla.sweep()).escalations == []  # idempotent
    assert (await sla.sla(tid))["escalation_level"] == 1

    sla.api.clock.set(created + second - timedelta(seconds=1))
    assert (await sla.sweep()).escalations == []
    sla.api.clock.set(created + second)
    assert (await sla.sweep()).escalations == [(ticket["number"], 2)]
    sla.advance(days=30)
    assert (await sla.sweep()).escalations == []
    assert (await sla.sla(tid))["escalation_level"] == 2

    steps = [e for e in await sla.history(tid) if e["kind"] == "escalated"]
    assert [(e["level"], e["detail"]) for e in steps] == [
        (1, "to the head of customer service"),
        (2, "to the general manager"),
    ]
    due = [created + first, created + second]
    assert [e["due_at"] for e in steps] == [d.isoformat().replace("+00:00", "Z") for d in due]


async def test_a_late_sweep_records_both_levels_with_their_due_times(sla: Sla) -> None:
    who = await sla.person(credits=1)
    ticket = await sla.ticket(who, severity=1)
    created = sla.now
    sla.advance(hours=30)
    result = await sla.sweep()
    assert result.escalations == [(ticket["number"], 1), (ticket["number"], 2)]
    steps = [e for e in await sla.history(ticket["id"]) if e["kind"] == "escalated"]
    assert [e["due_at"] for e in steps] == [
        (created + timedelta(hours=h)).isoformat().replace("+00:00", "Z") for h in (8, 24)
    ]
    assert {e["occurred_at"] for e in steps} == {sla.now.isoformat().replace("+00:00", "Z")}


async def test_waiting_on_the_customer_holds_escalation_and_resolved_tickets_stay(
    sla: Sla,
) -> None:
    who = await sla.person(credits=2)
    waiting = await sla.ticket(who, severity=1)
    resolved = await sla.ticket(who, severity=1)
    sla.advance(hours=4)
    await sla.status(waiting["id"], "waiting_on_customer")
    await sla.status(resolved["id"], "resolved")
    sla.advance(hours=10)  # 14 h since the report, 4 h of them counted
    assert (await sla.sweep()).escalations == []
    await sla.message(waiting["id"], who.headers)  # the clock runs again
    sla.advance(hours=4)
    assert (await sla.sweep()).escalations == [(waiting["number"], 1)]
    assert (await sla.sla(resolved["id"]))["escalation_level"] == 0


async def test_concurrent_sweeps_escalate_and_compensate_once(sla: Sla) -> None:
    # One customer per ticket: a customer's last ticket is its most urgent by default
    # (seed 000) and would extend the others past their first-response target.
    people = [await sla.person(credits=1) for _ in range(3)]
    tickets = [await sla.ticket(who, severity=1) for who in people]
    sla.advance(hours=25)
    results = await asyncio.gather(*(sla.sweep(compensation=True) for _ in range(4)))
    escalations = sorted(s for r in results for s in r.escalations)
    assert escalations == sorted((t["number"], lvl) for t in tickets for lvl in (1, 2))
    assert sorted(n for r in results for n in r.compensated) == sorted(t["number"] for t in tickets)
    for who in people:
        assert len(await sla.refunds(who.id)) == 1
        assert await sla.available(who.id) == 1


async def test_compensation_is_off_by_default(sla: Sla) -> None:
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who))["id"]
    sla.advance(hours=9)
    result = await sla.sweep()
    assert result.compensated == []
    assert await sla.available(who.id) == 0
    assert (await sla.sla(tid))["first_response"]["breached"] is True
    breach = [e for e in await sla.history(tid) if e["kind"] == "breached"]
    assert [(e["detail"], e["due_at"]) for e in breach] == [
        ("first_response", (sla.now - timedelta(hours=1)).isoformat().replace("+00:00", "Z"))
    ]


async def test_a_missed_first_response_refunds_once(sla: Sla) -> None:
    who = await sla.person(credits=1)
    ticket = await sla.ticket(who)
    tid = ticket["id"]
    sla.advance(hours=8)
    assert (await sla.sweep(compensation=True)).compensated == []  # exactly on time
    sla.advance(seconds=1)
    assert (await sla.sweep(compensation=True)).compensated == [ticket["number"]]
    assert (await sla.sweep(compensation=True)).compensated == []
    refunds = await sla.refunds(who.id)
    assert [(r["credits"], r["reason"]) for r in refunds] == [(1, "sla_breach")]
    assert await sla.available(who.id) == 1
    charge = (await sla.get_ticket(tid))["charge"]
    assert (charge["refunded"], charge["refund_reason"]) == (True, "sla_breach")
    assert (await sla.sla(tid))["compensated"] is True
    # A later bug confirmation finds the charge already refunded: nothing more.
    engineer = await sla.staff("engineer")
    response = await sla.post(
        f"/v1/tickets/{tid}/bug-confirmation", engineer, {"bug_reference": "BUG-1"}
    )
    assert response.status_code == 200, response.text
    assert len(await sla.refunds(who.id)) == 1


async def test_a_late_answer_is_compensated_and_an_earlier_refund_is_not_repeated(
    sla: Sla,
) -> None:
    # Two customers: one customer's second ticket would be its most urgent by default
    # (seed 000) and extend the first one's targets for as long as it is open.
    who, other = await sla.person(credits=1), await sla.person(credits=1)
    late, bug = await sla.ticket(who), await sla.ticket(other)
    engineer = await sla.staff("engineer")
    response = await sla.post(
        f"/v1/tickets/{bug['id']}/bug-confirmation", engineer, {"bug_reference": "BUG-2"}
    )
    assert response.status_code == 200, response.text
    sla.advance(hours=10)
    await sla.message(late["id"], engineer)  # answered, but late
    result = await sla.sweep(compensation=True)
    assert result.compensated == [late["number"]]
    refunds = [r["reason"] for r in await sla.refunds(who.id) + await sla.refunds(other.id)]
    assert refunds == ["sla_breach", "product_bug"]
    details = [e["detail"] for e in await sla.history(bug["id"]) if e["kind"] == "compensated"]
    assert details == ["nothing to refund"]


async def test_creditdesk_escalate(sla: Sla, database_url: str) -> None:
    """The command uses the real clock: a ticket reported on the test's Monday is weeks
    old by now, so a severity-3 ticket reaches level 2; a second run changes nothing."""
    who = await sla.person(credits=1)
    ticket = await sla.ticket(who)
    env = {**os.environ, "CREDITDESK_DATABASE_URL": database_url, "CREDITDESK_ENV": "test"}
    runner = CliRunner()
    first = await asyncio.to_thread(runner.invoke, main, ["escalate"], env=env)
    assert first.exit_code == 0, first.output
    assert f"#{ticket['number']} → level 1, #{ticket['number']} → level 2" in first.output
    again = await asyncio.to_thread(runner.invoke, main, ["escalate"], env=env)
    assert again.exit_code == 0, again.output
    assert "escalated: none; compensated: none" in again.output


async def test_compensation_racing_a_bug_refund_refunds_once(sla: Sla) -> None:
    who = await sla.person(credits=1)
    engineer = await sla.staff("engineer")
    tid = (await sla.ticket(who))["id"]
    sla.advance(hours=9)
    confirm = sla.post(f"/v1/tickets/{tid}/bug-confirmation", engineer, {"bug_reference": "B-9"})
    response, result = await asyncio.gather(confirm, sla.sweep(compensation=True))
    assert response.status_code == 200, response.text
    refunds = await sla.refunds(who.id)
    assert len(refunds) == 1 and await sla.available(who.id) == 1
    compensated = [e["detail"] for e in await sla.history(tid) if e["kind"] == "compensated"]
    expected = "credit refunded" if result.compensated else "nothing to refund"
    assert compensated == [expected]
    assert refunds[0]["reason"] == ("sla_breach" if result.compensated else "product_bug")


async def test_the_server_runs_the_sweep_periodically(sla: Sla) -> None:
    from app.desk.sla_sweep import escalate_tickets
    from app.tasks import JOBS

    assert escalate_tickets in JOBS
    who = await sla.person(credits=1)
    tid = (await sla.ticket(who, severity=1))["id"]
    sla.advance(hours=8)
    await escalate_tickets(sla.api.db, sla.api.clock, sla.settings)
    assert (await sla.sla(tid))["escalation_level"] == 1
