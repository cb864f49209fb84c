"""Transfers with consent, refunds (misrouted, out of scope, merged, product bug), each at
most once per charge."""

from __future__ import annotations

from typing import Any

from tests.desk.conftest import Desk, Person


async def _transfer(desk: Desk, ticket_id: str, to_line: str, role: str = "cr_agent") -> Any:
    return await desk.post(
        f"/v1/tickets/{ticket_id}/transfer", await desk.staff(role), {"to_line": to_line}
    )


async def test_transfer_waits_for_consent_then_accept_charges(desk: Desk) -> None:
    mia = await desk.person(credits=1)
    ticket = await desk.ticket(mia, "customer_relations")
    moved = await _transfer(desk, ticket["id"], "technical")
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "awaiting_approval"
    assert moved.json()["line"] == "customer_relations"
    assert moved.json()["charge"] is None
    assert await desk.available(mia.id) == 1
    accepted = await desk.post(f"/v1/tickets/{ticket['id']}/transfer/accept", mia.headers)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert (body["line"], body["status"]) == ("technical", "open")
    assert body["charge"] == {
        "credits": 1, "reason": "ticket", "refunded": False, "refund_reason": None,
    }  # fmt: skip
    assert await desk.available(mia.id) == 0
    again = await desk.post(f"/v1/tickets/{ticket['id']}/transfer/accept", mia.headers)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


async def test_decline_keeps_the_ticket_free(desk: Desk) -> None:
    ned = await desk.person(credits=1)
    ticket = await desk.ticket(ned, "customer_relations")
    await _transfer(desk, ticket["id"], "technical")
    declined = await desk.post(f"/v1/tickets/{ticket['id']}/transfer/decline", ned.headers)
    assert declined.status_code == 200
    assert (declined.json()["line"], declined.json()["status"]) == ("customer_relations", "open")
    assert declined.json()["charge"] is None
    assert await desk.available(ned.id) == 1
    no_pending = await desk.post(f"/v1/tickets/{ticket['id']}/transfer/decline", ned.headers)
    assert no_pending.status_code == 409 and no_pending.json()["code"] == "invalid_transition"


async def test_accept_without_credit_is_402_and_nothing_changes(desk: Desk) -> None:
    olga = await desk.person(credits=0)
    ticket = await desk.ticket(olga, "customer_relations")
    await _transfer(desk, ticket["id"], "technical")
    refused = await desk.post(f"/v1/tickets/{ticket['id']}/transfer/accept", olga.headers)
    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_credits"
    assert refused.json()["packs"]
    after = await desk.get_ticket(ticket["id"])
    assert (after["status"], after["line"], after["charge"]) == (
        "awaiting_approval", "customer_relations", None,
    )  # fmt: skip


async def test_partners_and_auto_accepting_customers_skip_the_wait(desk: Desk) -> None:
    partner = await desk.person(partner=True)
    auto = await desk.person(credits=1, auto_accept_transfers=True)
    broke = await desk.person(credits=0, auto_accept_transfers=True)
    for who, charge in ((partner, (0, "partner")), (auto, (1, "ticket"))):
        ticket = await desk.ticket(who, "customer_relations")
        moved = await _transfer(desk, ticket["id"], "technical", role="engineer")
        assert moved.status_code == 200, moved.text
        assert (moved.json()["line"], moved.json()["status"]) == ("technical", "open")
        got = moved.json()["charge"]
        assert (got["credits"], got["reason"]) == charge
    assert await desk.available(auto.id) == 0
    ticket = await desk.ticket(broke, "customer_relations")
    refused = await _transfer(desk, ticket["id"], "technical")
    assert refused.status_code == 402 and refused.json()["code"] == "insufficient_credits"
    assert (await desk.get_ticket(ticket["id"]))["line"] == "customer_relations"


async def test_transfer_back_refunds_misrouted_once(desk: Desk) -> None:
    pat = await desk.person(credits=1)
    ticket = await desk.ticket(pat, "technical")
    back = await _transfer(desk, ticket["id"], "customer_relations", role="engineer")
    assert back.status_code == 200
    assert back.json()["line"] == "customer_relations"
    assert back.json()["charge"] == {
        "credits": 1, "reason": "ticket", "refunded": True, "refund_reason": "misrouted",
    }  # fmt: skip
    assert await desk.available(pat.id) == 1
    refunds = await desk.refunds(pat.id)
    assert [(r["reason"], r["ticket_id"]) for r in refunds] == [("misrouted", ticket["id"])]
    twice = await _transfer(desk, ticket["id"], "customer_relations")
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_transition"
    bug = await desk.post(
        f"/v1/tickets/{ticket['id']}/bug-confirmation",
        await desk.staff("engineer"),
        {"bug_reference": "BUG-1"},
    )
    assert bug.status_code == 200 and bug.json()["bug_reference"] == "BUG-1"
    assert len(await desk.refunds(pat.id)) == 1


async def test_moved_back_then_transferred_again_is_charged_again(desk: Desk) -> None:
    quinn = await desk.person(credits=1, auto_accept_transfers=True)
    ticket = await desk.ticket(quinn, "technical")
    await _transfer(desk, ticket["id"], "customer_relations")
    again = await _transfer(desk, ticket["id"], "technical")
    assert again.status_code == 200
    assert again.json()["charge"] == {
        "credits": 1, "reason": "ticket", "refunded": False, "refund_reason": None,
    }  # fmt: skip
    assert await desk.available(quinn.id) == 0


async def test_cancel_pending_transfer_and_same_line_refusals(desk: Desk) -> None:
    rita = await desk.person(credits=1)
    free = await desk.ticket(rita, "customer_relations")
    same = await _transfer(desk, free["id"], "customer_relations")
    assert same.status_code == 409 and same.json()["code"] == "invalid_transition"
    await _transfer(desk, free["id"], "technical")
    pending_again = await _transfer(desk, free["id"], "technical")
    assert pending_again.status_code == 409
    cancelled = await _transfer(desk, free["id"], "customer_relations")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "open"
    paid = await desk.ticket(rita, "technical")
    on_tech = await _transfer(desk, paid["id"], "technical")
    assert on_tech.status_code == 409 and on_tech.json()["code"] == "invalid_transition"


async def test_out_of_scope_refunds_and_moves_back(desk: Desk) -> None:
    sam = await desk.person(credits=1)
    ticket = await desk.ticket(sam, "technical")
    engineer = await desk.staff("engineer")
    done = await desk.post(
        f"/v1/tickets/{ticket['id']}/out-of-scope", engineer, {"reason": "licence renewal"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["line"] == "customer_relations"
    assert done.json()["charge"]["refund_reason"] == "out_of_scope"
    assert await desk.available(sam.id) == 1
    refunds = await desk.refunds(sam.id)
    assert [r["reason"] for r in refunds] == ["out_of_scope"]
    again = await desk.post(
        f"/v1/tickets/{ticket['id']}/out-of-scope", engineer, {"reason": "licence renewal"}
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    notes = await desk.client.get(f"/v1/tickets/{ticket['id']}/messages", headers=engineer)
    assert [m["body"] for m in notes.json()["data"] if m["internal"]] == [
        "Out of scope: licence renewal"
    ]
    hidden = await desk.client.get(f"/v1/tickets/{ticket['id']}/messages", headers=sam.headers)
    assert all(not m["internal"] for m in hidden.json()["data"])


async def test_bug_confirmation_refunds_once_with_reference(desk: Desk, run_sql: Any) -> None:
    tara = await desk.person(credits=1)
    ticket = await desk.ticket(tara, "technical")
    engineer = await desk.staff("engineer")
    url = f"/v1/tickets/{ticket['id']}/bug-confirmation"
    first = await desk.post(url, engineer, {"bug_reference": "BUG-42"})
    assert first.status_code == 200, first.text
    assert first.json()["charge"]["refunded"] is True
    assert first.json()["charge"]["refund_reason"] == "product_bug"
    again = await desk.post(url, engineer, {"bug_reference": "BUG-42"})  # idempotent
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    other = await desk.post(url, engineer, {"bug_reference": "BUG-43"})
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "bug_already_confirmed"
    assert other.json()["bug_reference"] == "BUG-42"
    kept = await desk.get_ticket(ticket["id"])  # the first reference stays, nothing changed
    assert (kept["bug_reference"], kept["updated_at"]) == ("BUG-42", first.json()["updated_at"])
    refunds = await desk.refunds(tara.id)
    assert len(refunds) == 1 and refunds[0]["reason"] == "product_bug"
    assert await desk.available(tara.id) == 1
    # the journal keeps the reference of the first confirmation
    rows = await run_sql("SELECT reference FROM journal_transactions WHERE kind = 'refund'")
    assert [r[0] for r in rows] == ["BUG-42"]


async def test_bug_confirmation_for_partner_records_without_ledger(desk: Desk) -> None:
    partner = await desk.person(partner=True)
    ticket = await desk.ticket(partner, "technical")
    response = await desk.post(
        f"/v1/tickets/{ticket['id']}/bug-confirmation",
        await desk.staff("admin"),
        {"bug_reference": "BUG-7"},
    )
    assert response.json()["charge"] == {
        "credits": 0, "reason": "partner", "refunded": True, "refund_reason": "product_bug",
    }  # fmt: skip
    assert await desk.entries(partner.id) == []


async def _two_tickets(desk: Desk, who: Person) -> tuple[dict[str, Any], dict[str, Any]]:
    return await desk.ticket(who, "technical"), await desk.ticket(who, "technical")


async def test_merge_refunds_the_duplicate_and_moves_messages(desk: Desk) -> None:
    uma = await desk.person(credits=2)
    dup, keep = await _two_tickets(desk, uma)
    await desk.post(f"/v1/tickets/{dup['id']}/messages", uma.headers, {"body": "more detail"})
    agent = await desk.staff("cr_agent")
    merged = await desk.post(f"/v1/tickets/{dup['id']}/merge", agent, {"into": keep["id"]})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["status"], body["merged_into"]) == ("closed", keep["id"])
    assert body["charge"]["refund_reason"] == "merged"
    assert await desk.available(uma.id) == 1
    messages = await desk.client.get(f"/v1/tickets/{keep['id']}/messages", headers=uma.headers)
    bodies = [m["body"] for m in messages.json()["data"]]
    assert dup["body"] in bodies and "more detail" in bodies and keep["body"] in bodies
    left = await desk.client.get(f"/v1/tickets/{dup['id']}/messages", headers=uma.headers)
    assert left.json()["data"] == []
    again = await desk.post(f"/v1/tickets/{dup['id']}/merge", agent, {"into": keep["id"]})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert len(await desk.refunds(uma.id)) == 1
    survivor = await desk.get_ticket(keep["id"])
    assert survivor["charge"]["refunded"] is False


async def test_merge_refusals(desk: Desk) -> None:
    vic, wes = await desk.person(credits=3), await desk.person(credits=1)
    a, b = await _two_tickets(desk, vic)
    other = await desk.ticket(wes, "technical")
    admin = desk.api.admin
    itself = await desk.post(f"/v1/tickets/{a['id']}/merge", admin, {"into": a["id"]})
    assert itself.status_code == 409 and itself.json()["code"] == "invalid_transition"
    foreign = await desk.post(f"/v1/tickets/{a['id']}/merge", admin, {"into": other["id"]})
    assert foreign.status_code == 409 and foreign.json()["code"] == "invalid_transition"
    missing = await desk.post(f"/v1/tickets/{a['id']}/merge", admin, {"into": "tkt_missing"})
    assert missing.status_code == 404
    await desk.post(f"/v1/tickets/{b['id']}/status", admin, {"status": "closed"})
    into_closed = await desk.post(f"/v1/tickets/{a['id']}/merge", admin, {"into": b["id"]})
    assert into_closed.status_code == 409
    assert await desk.refunds(vic.id) == []
