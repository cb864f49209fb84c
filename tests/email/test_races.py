"""Races and edges of intake: the same mail delivered twice at once is taken once (real
separate connections), an address shared by two customers is nobody's, and mail far over
the limit is refused by the SMTP protocol itself."""

from __future__ import annotations

import asyncio
import smtplib

import pytest
from sqlalchemy.exc import IntegrityError

from app.email import service
from app.email.smtp import start_listener
from app.kit.db import Database
from app.settings import Settings
from tests.email.conftest import TECH, Mailbox, mail


async def test_the_same_mail_delivered_twice_at_once_is_taken_and_charged_once(
    box: Mailbox, settings: Settings
) -> None:
    customer_id = await box.customer(credits=3)
    raw = mail(to=TECH).as_bytes()
    db, now = box.api.db, box.api.clock.now()

    async def deliver() -> str:
        try:
            async with db.unit_of_work() as session:
                result = await service.receive(session, raw, settings=settings, now=now)
        except IntegrityError:  # lost the race on the Message-ID: the relay retries
            return "retry"
        return "duplicate" if result.duplicate else result.outcome.value

    outcomes = sorted(await asyncio.gather(deliver(), deliver()))

    assert outcomes in (["created", "duplicate"], ["created", "retry"])
    assert len(await box.tickets()) == 1
    assert await box.available(customer_id) == 2
    assert len(await box.outbox()) == 1
    again = await box.post(raw)
    assert again["duplicate"] is True


async def test_an_address_shared_by_two_customers_is_refused_until_a_contact_decides(
    box: Mailbox,
) -> None:
    first = await box.customer(email="shared@acme.example")
    await box.customer(email="Shared@Acme.example")

    refused = await box.post(mail(sender="shared@acme.example"))
    assert refused["outcome"] == "refused_unknown_sender"

    # Only a contact row could decide, and it may not take another customer's address.
    taken = await box.client.post(
        f"/v1/customers/{first}/contacts", json={"email": "shared@acme.example"},
        headers=box.api.admin,
    )  # fmt: skip
    assert taken.status_code == 409


async def test_mail_far_over_the_limit_is_refused_by_the_protocol(listener: Mailbox) -> None:
    await listener.customer()
    message = mail(body="x" * 76 + "\n")
    message.set_content(("y" * 76 + "\n") * 3_000)  # ~230 kB, over twice the 60 kB limit

    with pytest.raises(smtplib.SMTPException) as refused:
        await listener.smtp(message)

    assert getattr(refused.value, "smtp_code", None) == 552
    assert await listener.inbound() == []


async def test_with_the_database_down_the_listener_defers_mail_with_451(
    box: Mailbox, settings: Settings
) -> None:
    broken = Database("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere", pool_size=1)
    server = await start_listener(broken, box.api.clock, settings, host="127.0.0.1", port=0)
    box.listener_port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            await box.smtp(mail())
    finally:
        server.close()
        await server.wait_closed()
        await broken.dispose()

    assert deferred.value.smtp_code == 451  # the sender keeps the mail and retries
