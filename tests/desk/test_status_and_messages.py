"""The status machine (reopen window, closed is final) and messages (free, internal notes)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Api
from tests.desk.conftest import Desk


async def _status(desk: Desk, ticket_id: str, status: str, headers: dict[str, str]) -> object:
    return await desk.post(f"/v1/tickets/{ticket_id}/status", headers, {"status": status})


async def test_staff_walk_the_machine(desk: Desk) -> None:
    amy = await desk.person(credits=1)
    ticket = await desk.ticket(amy, "technical")
    engineer = await desk.staff("engineer")
    for status in ("in_progress", "waiting_on_customer", "in_progress", "resolved", "closed"):
        response = await desk.post(
            f"/v1/tickets/{ticket['id']}/status", engineer, {"status": status}
        )
        assert response.status_code == 200, (status, response.text)
        assert response.json()["status"] == status
    assert await desk.available(amy.id) == 0  # status changes never charge or refund


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (["resolved"], "in_progress"),
        (["resolved"], "waiting_on_customer"),
        (["closed"], "open"),
        (["closed"], "closed"),
        ([], "open"),
        ([], "awaiting_approval"),
    ],
)
async def test_invalid_transitions_are_409(desk: Desk, path: list[str], target: str) -> None:
    ben = await desk.person()
    ticket = await desk.ticket(ben, "customer_relations")
    admin = desk.api.admin
    for status in path:
        assert (await desk.post(f"/v1/tickets/{ticket['id']}/status", admin, {"status": status})).status_code == 200  # fmt: skip
    response = await desk.post(f"/v1/tickets/{ticket['id']}/status", admin, {"status": target})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


async def test_reopen_within_the_window_is_free(desk: Desk, api: Api) -> None:
    cleo = await desk.person(credits=1)
    ticket = await desk.ticket(cleo, "technical")
    await desk.post(f"/v1/tickets/{ticket['id']}/status", api.admin, {"status": "resolved"})
    api.clock.advance(timedelta(days=14))
    reopened = await desk.post(
        f"/v1/tickets/{ticket['id']}/status", cleo.headers, {"status": "open"}
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "open"
    assert reopened.json()["charge"]["refunded"] is False
    assert await desk.available(cleo.id) == 0
    assert len([e for e in await desk.entries(cleo.id) if e["kind"] == "charge"]) == 1


async def test_reopen_after_the_window_is_refused(desk: Desk, api: Api) -> None:
    dan = await desk.person()
    ticket = await desk.ticket(dan, "customer_relations")
    await desk.post(f"/v1/tickets/{ticket['id']}/status", api.admin, {"status": "resolved"})
    api.clock.advance(timedelta(days=14, seconds=1))
    late = await desk.post(f"/v1/tickets/{ticket['id']}/status", dan.headers, {"status": "open"})
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
    staff_late = await desk.post(
        f"/v1/tickets/{ticket['id']}/status", api.admin, {"status": "open"}
    )
    assert staff_late.status_code == 409


async def test_reopen_window_is_configurable(desk: Desk, api: Api) -> None:
    api.app.state.settings.reopen_window_days = 1
    eve = await desk.person()
    ticket = await desk.ticket(eve, "customer_relations")
    await desk.post(f"/v1/tickets/{ticket['id']}/status", api.admin, {"status": "resolved"})
    api.clock.advance(timedelta(days=2))
    late = await desk.post(f"/v1/tickets/{ticket['id']}/status", eve.headers, {"status": "open"})
    assert late.status_code == 409


async def test_customer_may_only_reopen_or_close(desk: Desk, api: Api) -> None:
    fay = await desk.person()
    ticket = await desk.ticket(fay, "customer_relations")
    for status in ("in_progress", "resolved", "waiting_on_customer"):
        refused = await desk.post(
            f"/v1/tickets/{ticket['id']}/status", fay.headers, {"status": status}
        )
        assert refused.status_code == 403, status
        assert refused.json()["code"] == "forbidden"
    not_resolved = await desk.post(
        f"/v1/tickets/{ticket['id']}/status", fay.headers, {"status": "open"}
    )
    assert not_resolved.status_code == 409
    closed = await desk.post(
        f"/v1/tickets/{ticket['id']}/status", fay.headers, {"status": "closed"}
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    reopen = await desk.post(f"/v1/tickets/{ticket['id']}/status", fay.headers, {"status": "open"})
    assert reopen.status_code == 409 and reopen.json()["code"] == "invalid_transition"


async def test_messages_are_free_and_notes_hidden_from_customers(desk: Desk) -> None:
    gus = await desk.person(credits=1)
    ticket = await desk.ticket(gus, "technical")
    engineer = await desk.staff("engineer")
    path = f"/v1/tickets/{ticket['id']}/messages"
    for i in range(5):
        sent = await desk.post(path, gus.headers, {"body": f"detail {i}"})
        assert sent.status_code == 201, sent.text
        assert sent.json()["author_role"] == "customer" and sent.json()["internal"] is False
    note = await desk.post(path, engineer, {"body": "customer is on v2.3", "internal": True})
    assert note.status_code == 201 and note.json()["internal"] is True
    reply = await desk.post(path, engineer, {"body": "Please try 2.4"})
    assert reply.status_code == 201
    assert await desk.available(gus.id) == 0  # one charge, for the ticket only
    seen_by_customer = (await desk.client.get(path, headers=gus.headers)).json()["data"]
    assert "customer is on v2.3" not in [m["body"] for m in seen_by_customer]
    assert len(seen_by_customer) == 7  # the submission, 5 details, the reply
    seen_by_staff = (await desk.client.get(path, headers=engineer)).json()["data"]
    assert len(seen_by_staff) == 8
    assert seen_by_staff[0]["body"] == ticket["body"]
    forbidden_note = await desk.post(path, gus.headers, {"body": "sneaky", "internal": True})
    assert forbidden_note.status_code == 403


async def test_message_validation_and_closed_tickets(desk: Desk) -> None:
    hal = await desk.person()
    ticket = await desk.ticket(hal, "customer_relations")
    path = f"/v1/tickets/{ticket['id']}/messages"
    empty = await desk.post(path, hal.headers, {"body": "  "})
    assert empty.status_code == 422 and empty.json()["field"] == "body"
    huge = await desk.post(path, hal.headers, {"body": "z" * 50_001})
    assert huge.status_code == 422
    missing = await desk.post(path, hal.headers, {})
    assert missing.status_code == 422
    await desk.post(f"/v1/tickets/{ticket['id']}/status", hal.headers, {"status": "closed"})
    closed = await desk.post(path, hal.headers, {"body": "one more thing"})
    assert closed.status_code == 409 and closed.json()["code"] == "ticket_closed"


async def test_customer_answer_restarts_a_waiting_ticket(desk: Desk) -> None:
    ida = await desk.person()
    ticket = await desk.ticket(ida, "customer_relations")
    await desk.post(
        f"/v1/tickets/{ticket['id']}/status", desk.api.admin, {"status": "waiting_on_customer"}
    )
    await desk.post(f"/v1/tickets/{ticket['id']}/messages", ida.headers, {"body": "Here it is"})
    assert (await desk.get_ticket(ticket["id"]))["status"] == "in_progress"


async def test_message_pages(desk: Desk) -> None:
    jon = await desk.person()
    ticket = await desk.ticket(jon, "customer_relations")
    path = f"/v1/tickets/{ticket['id']}/messages"
    for i in range(4):
        await desk.post(path, jon.headers, {"body": f"m{i}"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await desk.client.get(path, params=params, headers=jon.headers)).json()
        seen += [m["body"] for m in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ticket["body"], "m0", "m1", "m2", "m3"]
    bad = await desk.client.get(path, params={"cursor": "garbage"}, headers=jon.headers)
    assert bad.status_code == 422
