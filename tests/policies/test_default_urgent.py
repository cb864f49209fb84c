"""The default most-urgent ticket (seed 000): "by default, the last one", until the
customer names another."""

from __future__ import annotations

from tests.sla.conftest import Sla


async def test_the_last_ticket_is_the_most_urgent_by_default(sla: Sla) -> None:
    who = await sla.person(credits=3)
    first = await sla.ticket(who)
    assert first["sla"]["urgent"] is True  # the only one
    sla.advance(hours=1)
    last = await sla.ticket(who)
    assert last["sla"]["urgent"] is True
    sla.advance(hours=2)
    a, b = await sla.sla(first["id"]), await sla.sla(last["id"])
    assert (a["urgent"], a["extension_minutes"]) == (False, 120)  # while `last` is open
    assert (b["urgent"], b["extension_minutes"]) == (True, 0)
    assert a["first_response"]["target_minutes"] == 480 + 120
    other = await sla.person(credits=1)  # other customers are not affected
    theirs = await sla.ticket(other)
    sla.advance(hours=1)
    assert (await sla.sla(theirs["id"]))["extension_minutes"] == 0


async def test_a_named_ticket_stands_until_it_is_finished_then_the_last_open_one(sla: Sla) -> None:
    who = await sla.person(credits=4)
    a = await sla.ticket(who)
    b = await sla.ticket(who)
    named = await sla.post(f"/v1/tickets/{a['id']}/urgent", who.headers)
    assert named.json()["sla"]["urgent"] is True
    c = await sla.ticket(who)
    assert c["sla"]["urgent"] is False  # the customer's choice stands over the default
    sla.advance(hours=1)
    assert (await sla.sla(c["id"]))["extension_minutes"] == 60
    await sla.status(a["id"], "resolved")
    # The named one is finished: the last ticket still open is the most urgent again.
    assert (await sla.sla(c["id"]))["urgent"] is True
    sla.advance(hours=1)
    assert (await sla.sla(b["id"]))["extension_minutes"] == 120  # a's hour, then c's
    await sla.status(c["id"], "closed")
    assert (await sla.sla(b["id"]))["urgent"] is True


async def test_naming_the_default_one_keeps_it_over_later_tickets(sla: Sla) -> None:
    who = await sla.person(credits=3)
    await sla.ticket(who)
    b = await sla.ticket(who)
    await sla.post(f"/v1/tickets/{b['id']}/urgent", who.headers)
    c = await sla.ticket(who)
    assert c["sla"]["urgent"] is False
    assert (await sla.sla(b["id"]))["urgent"] is True
