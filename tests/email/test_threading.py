"""Replies thread into their ticket (`[#NUMBER]` or In-Reply-To/References), only for the
ticket's own customer, and never cost a credit; staff public replies go out by mail."""

from __future__ import annotations

from app.email.outbox import send_due
from app.settings import Settings
from tests.email.conftest import TECH, Mailbox, Relay, mail


async def test_a_reply_with_the_number_in_the_subject_joins_the_ticket_for_free(
    listener: Mailbox,
) -> None:
    box = listener
    customer_id = await box.customer(credits=2)
    opened = await box.post(mail(to=TECH, subject="Streamer drops multicast after reboot"))
    number = opened["ticket_number"]

    await box.smtp(
        mail(to=TECH, subject=f"Re: [#{number}] Streamer drops multicast", body="Logs: none.")
    )

    [_, inbound] = await box.inbound()
    assert (inbound.outcome, inbound.ticket_id) == ("threaded", opened["ticket_id"])
    bodies = [m["body"] for m in await box.messages(opened["ticket_id"])]
    assert bodies[-1] == "Logs: none."
    assert len(await box.tickets()) == 1
    assert await box.available(customer_id) == 1  # charged once, at submission
    assert len(await box.outbox()) == 1  # the auto-reply; replies in a thread get none


async def test_in_reply_to_or_references_thread_without_a_number(box: Mailbox) -> None:
    await box.customer(credits=1)
    opened = await box.post(mail(to=TECH))
    [auto_reply] = await box.outbox()

    by_reply = await box.post(
        mail(subject="Re: still failing", body="Still failing.", In_Reply_To=auto_reply.message_id)
    )
    first = (await box.inbound())[0]
    by_references = await box.post(
        mail(subject="more details", body="Details.", References=f"<x@y> {first.message_id}")
    )

    assert by_reply["outcome"] == by_references["outcome"] == "threaded"
    assert by_reply["ticket_id"] == by_references["ticket_id"] == opened["ticket_id"]
    assert [m["body"] for m in await box.messages(opened["ticket_id"])][1:] == [
        "Still failing.", "Details."
    ]  # fmt: skip


async def test_another_customers_ticket_number_is_refused_and_left_untouched(
    box: Mailbox,
) -> None:
    await box.customer(credits=1)
    await box.customer(email="it@other.example", credits=1)
    opened = await box.post(mail(to=TECH))

    for message in (
        mail(sender="it@other.example", subject=f"[#{opened['ticket_number']}] me too"),
        mail(sender="it@other.example", subject="[#999999] no such ticket"),
    ):
        result = await box.post(message)
        assert result["outcome"] == "refused_not_your_ticket"
        assert result["ticket_id"] is None

    assert len(await box.messages(opened["ticket_id"])) == 1
    refusals = await box.outbox(kind="refusal")
    assert [r.recipient for r in refusals] == ["it@other.example"] * 2
    assert all("could not match it to a ticket of yours" in r.body for r in refusals)


async def test_mail_to_a_closed_ticket_is_refused_and_to_a_merged_one_goes_to_the_survivor(
    box: Mailbox,
) -> None:
    await box.customer(credits=3)
    first = await box.post(mail(to=TECH))
    second = await box.post(mail(to=TECH))
    merged = await box.client.post(
        f"/v1/tickets/{second['ticket_id']}/merge",
        json={"into": first["ticket_id"]},
        headers=box.api.admin,
    )
    assert merged.status_code == 200, merged.text

    followed = await box.post(mail(subject=f"[#{second['ticket_number']}] more", body="More."))
    assert (followed["outcome"], followed["ticket_id"]) == ("threaded", first["ticket_id"])

    closed = await box.client.post(
        f"/v1/tickets/{first['ticket_id']}/status", json={"status": "closed"},
        headers=box.api.admin,
    )  # fmt: skip
    assert closed.status_code == 200, closed.text
    refused = await box.post(mail(subject=f"[#{first['ticket_number']}] again"))
    assert refused["outcome"] == "refused_ticket_closed"
    assert "is closed" in (await box.outbox(kind="refusal"))[0].body


async def test_staff_public_replies_are_mailed_with_the_number_and_notes_are_not(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    customer_id = await box.customer(credits=1)
    original = mail(to=TECH, subject="Streamer drops multicast after reboot")
    opened = await box.post(original)
    ticket_id, number = opened["ticket_id"], opened["ticket_number"]
    agent = await box.api.key("engineer")
    path = f"/v1/tickets/{ticket_id}/messages"

    for body in (
        {"body": "Please send the streamer log.", "internal": False},
        {"body": "Looks like the IGMP bug again.", "internal": True},
    ):
        assert (await box.client.post(path, json=body, headers=agent)).status_code == 201
    customer_key = await box.api.key("customer", customer_id)
    own = await box.client.post(path, json={"body": "Attached."}, headers=customer_key)
    assert own.status_code == 201

    [staff_reply] = await box.outbox(kind="staff_reply")
    assert staff_reply.recipient == "ops@acme.example"
    assert staff_reply.subject == f"Re: [#{number}] Streamer drops multicast after reboot"
    assert staff_reply.in_reply_to == original["Message-ID"]

    relay.start()
    assert await send_due(box.api.db, settings, box.api.clock.now()) == 2
    received = {m["Message-ID"]: m for m in relay.received}
    mailed = received[staff_reply.message_id]
    assert "Please send the streamer log." in mailed.get_content()
    assert "IGMP" not in mailed.get_content()
    assert mailed["Auto-Submitted"] is None

    # The customer answers the staff mail: it threads by In-Reply-To alone.
    answer = await box.post(
        mail(subject="Re: log", body="Here it is.", In_Reply_To=staff_reply.message_id)
    )
    assert (answer["outcome"], answer["ticket_id"]) == ("threaded", ticket_id)
