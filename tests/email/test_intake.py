"""Mail in: routing, known senders, charging like the API, refusals answered by mail,
duplicates, over real SMTP (smtplib to the running listener) and the inbound endpoint."""

from __future__ import annotations

from app.email.outbox import send_due
from app.settings import Settings
from tests.email.conftest import SUPPORT, TECH, Mailbox, Relay, mail


async def test_smtp_mail_opens_a_free_ticket_and_the_auto_reply_reaches_the_sender(
    listener: Mailbox, relay: Relay, settings: Settings
) -> None:
    box = listener
    customer_id = await box.customer(credits=1)
    message = mail(subject="Player shows error 403 after the update")

    await box.smtp(message)

    [inbound] = await box.inbound()
    assert (inbound.outcome, inbound.recipient) == ("created", SUPPORT)
    ticket = await box.ticket(str(inbound.ticket_id))
    assert ticket["line"] == "customer_relations"
    assert ticket["customer_id"] == customer_id
    assert ticket["subject"] == "Player shows error 403 after the update"
    assert ticket["charge"] is None
    assert await box.available(customer_id) == 1
    [reply] = await box.outbox()
    assert reply.kind == "auto_reply"
    assert reply.recipient == "ops@acme.example"
    assert reply.in_reply_to == message["Message-ID"]

    relay.start()
    assert await send_due(box.api.db, settings, box.api.clock.now()) == 1
    [received] = relay.received
    assert received["Subject"] == f"[#{ticket['number']}] {ticket['subject']}"
    assert received["Message-ID"] == reply.message_id
    assert received["In-Reply-To"] == message["Message-ID"]
    assert received["Auto-Submitted"] == "auto-replied"
    assert f"#{ticket['number']}" in received.get_content()
    assert "https://cabinet.desk.test" in received.get_content()
    assert relay.envelopes == [(SUPPORT, ["ops@acme.example"])]
    [sent] = await box.outbox()
    assert sent.status == "sent"


async def test_the_technical_address_charges_one_credit_like_the_api(box: Mailbox) -> None:
    customer_id = await box.customer(credits=2)

    result = await box.post(mail(to=TECH, subject="Streamer drops multicast after reboot"))

    assert result["outcome"] == "created" and result["replied"] is True
    ticket = await box.ticket(result["ticket_id"])
    assert ticket["line"] == "technical"
    assert ticket["charge"] == {
        "credits": 1, "reason": "ticket", "refunded": False, "refund_reason": None
    }  # fmt: skip
    assert await box.available(customer_id) == 1
    [reply] = await box.outbox()
    assert "1 credit was charged" in reply.body


async def test_the_envelope_recipient_decides_the_line(box: Mailbox) -> None:
    customer_id = await box.customer(credits=1)

    result = await box.post(mail(to="Support <support@desk.test>"), recipient=TECH)

    assert (await box.ticket(result["ticket_id"]))["line"] == "technical"
    assert await box.available(customer_id) == 0


async def test_an_smtp_envelope_to_several_addresses_opens_one_ticket_on_the_routed_line(
    listener: Mailbox,
) -> None:
    customer_id = await listener.customer(credits=1)

    await listener.smtp(mail(), to=["someone@desk.test", TECH, SUPPORT])

    [ticket] = await listener.tickets()
    assert ticket["line"] == "technical"
    assert await listener.available(customer_id) == 0
    [inbound] = await listener.inbound()
    assert inbound.recipient == TECH


async def test_no_credit_on_the_technical_line_is_refused_with_the_packs(box: Mailbox) -> None:
    customer_id = await box.customer()

    result = await box.post(mail(to=TECH, subject="Streamer drops multicast after reboot"))

    assert result == {
        "id": result["id"], "outcome": "refused_no_credit", "ticket_id": None,
        "ticket_number": None, "replied": True, "duplicate": False,
    }  # fmt: skip
    assert await box.tickets() == []
    assert await box.available(customer_id) == 0
    [reply] = await box.outbox()
    assert reply.kind == "refusal"
    assert "costs 1 credit" in reply.body and "five: 5 credits for €100.00" in reply.body
    assert "single: 1 credit for €30.00" in reply.body


async def test_an_unknown_sender_gets_a_polite_reply_and_no_ticket(listener: Mailbox) -> None:
    await listener.customer()

    await listener.smtp(mail(sender="stranger@elsewhere.example"))

    [inbound] = await listener.inbound()
    assert inbound.outcome == "refused_unknown_sender" and inbound.ticket_id is None
    assert await listener.tickets() == []
    [reply] = await listener.outbox()
    assert reply.recipient == "stranger@elsewhere.example"
    assert "not a known contact" in reply.body


async def test_contacts_are_managed_by_staff_and_may_write_for_their_customer(
    box: Mailbox,
) -> None:
    customer_id = await box.customer(credits=1)
    other_id = await box.customer(email="it@other.example")
    path = f"/v1/customers/{customer_id}/contacts"
    customer_key = await box.api.key("customer", customer_id)
    body = {"email": "Night.Shift@Acme.example", "name": "Night shift"}

    assert (await box.client.post(path, json=body, headers=customer_key)).status_code == 403
    created = await box.client.post(path, json=body, headers=box.api.admin)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "night.shift@acme.example"
    again = await box.client.post(
        f"/v1/customers/{other_id}/contacts", json=body, headers=box.api.admin
    )
    assert (again.status_code, again.json()["code"]) == (409, "contact_exists")
    taken = await box.client.post(path, json={"email": "it@other.example"}, headers=box.api.admin)
    assert taken.status_code == 409
    listed = await box.client.get(path, headers=box.api.admin)
    assert [c["email"] for c in listed.json()["data"]] == ["night.shift@acme.example"]

    result = await box.post(mail(sender="NIGHT.SHIFT@acme.example", to=TECH))
    assert result["outcome"] == "created"
    assert (await box.ticket(result["ticket_id"]))["customer_id"] == customer_id
    assert await box.available(customer_id) == 0

    contact_id = created.json()["id"]
    removed = await box.client.delete(f"{path}/{contact_id}", headers=box.api.admin)
    assert removed.status_code == 204
    refused = await box.post(mail(sender="night.shift@acme.example"))
    assert refused["outcome"] == "refused_unknown_sender"


async def test_meaningless_or_empty_subjects_are_refused_with_an_example(box: Mailbox) -> None:
    customer_id = await box.customer(credits=3)

    for subject in ("Помогите!", "Re: HELP", "", "   "):
        result = await box.post(mail(to=TECH, subject=subject))
        assert result["outcome"] == "refused_subject", subject

    assert await box.tickets() == []
    assert await box.available(customer_id) == 3
    replies = await box.outbox()
    assert len(replies) == 3  # the rate limit (3 per hour) held back the fourth
    assert all("specific subject" in r.body for r in replies)


async def test_a_redelivered_mail_changes_nothing(box: Mailbox) -> None:
    customer_id = await box.customer(credits=2)
    raw = mail(to=TECH).as_bytes()

    first = await box.post(raw)
    second = await box.post(raw)

    assert first["outcome"] == second["outcome"] == "created"
    assert second["duplicate"] is True and second["ticket_id"] == first["ticket_id"]
    assert second["ticket_number"] == first["ticket_number"]
    assert len(await box.tickets()) == 1 and len(await box.outbox()) == 1
    assert await box.available(customer_id) == 1


async def test_the_same_request_sent_twice_is_refused_without_a_second_charge(
    box: Mailbox,
) -> None:
    customer_id = await box.customer(credits=2)
    subject, body = "Streamer drops multicast after reboot", "It happens every night."

    first = await box.post(mail(to=TECH, subject=subject, body=body))
    second = await box.post(mail(to=TECH, subject=subject, body=body))

    assert (first["outcome"], second["outcome"]) == ("created", "refused_duplicate")
    assert await box.available(customer_id) == 1
    refusal = (await box.outbox(kind="refusal"))[0]
    assert f"#{first['ticket_number']}" in refusal.body


async def test_the_inbound_endpoint_is_for_integrations_only(box: Mailbox) -> None:
    customer_id = await box.customer()
    raw = mail().as_bytes()
    for headers in (
        {},
        await box.api.key("customer", customer_id),
        await box.api.key("cr_agent"),
    ):
        response = await box.client.post("/v1/inbound/email", content=raw, headers=headers)
        assert response.status_code in (401, 403), response.text
    empty = await box.client.post(
        "/v1/inbound/email", content=b"  ", headers=await box.api.key("integration")
    )
    assert empty.status_code == 422
    assert await box.inbound() == []
