"""The outbox: written with its cause, sent by a task to a real SMTP server, retried with
exponential backoff while the server is down, marked sent once, and resent with the same
Message-ID (never a different mail) when a crash loses the 'sent' mark."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import service as desk
from app.email.models import OutboxEmail
from app.email.outbox import _deliver, backoff, claim_due, requeue_dead, send_due
from app.email.tasks import send_outbox
from app.kit.auth import Principal, Role
from app.settings import Settings
from tests.email.conftest import TECH, Mailbox, Relay, mail


async def test_the_outbox_survives_a_relay_that_is_down_and_comes_back(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    await box.customer(credits=1)
    opened = await box.post(mail(to=TECH))
    db, clock = box.api.db, box.api.clock

    assert await send_due(db, settings, clock.now()) == 0  # nothing listens on the port
    [row] = await box.outbox()
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert row.last_error and "Connection" in row.last_error
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)

    clock.advance(timedelta(seconds=29))
    assert await send_due(db, settings, clock.now()) == 0
    assert (await box.outbox())[0].attempts == 1  # not due yet: not even tried

    clock.advance(timedelta(seconds=1))
    assert await send_due(db, settings, clock.now()) == 0
    [row] = await box.outbox()
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now() + timedelta(seconds=60)  # doubled

    relay.start()
    clock.advance(timedelta(seconds=60))
    await send_outbox(db, clock, settings)  # the periodic job
    [row] = await box.outbox()
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, clock.now())
    [received] = relay.received
    assert received["Message-ID"] == row.message_id
    assert f"[#{opened['ticket_number']}]" in received["Subject"]

    clock.advance(timedelta(days=1))
    assert await send_due(db, settings, clock.now()) == 0
    assert len(relay.received) == 1  # a sent mail is never sent again


async def test_a_crash_after_the_relay_accepted_resends_with_the_same_message_id(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    await box.customer()
    await box.post(mail())
    db, clock = box.api.db, box.api.clock
    relay.start()

    # The worker claims the row and the relay accepts the mail, then the process dies
    # before it records success: the lease is all that is left.
    [claimed] = await claim_due(db, settings, clock.now())
    await asyncio.to_thread(_deliver, claimed.message, settings)
    assert await send_due(db, settings, clock.now()) == 0  # leased: nobody else sends it

    clock.advance(timedelta(seconds=settings.email_outbox_lease_seconds))
    assert await send_due(db, settings, clock.now()) == 1
    first, second = relay.received
    assert first["Message-ID"] == second["Message-ID"] == claimed.message["Message-ID"]
    assert first.get_content() == second.get_content()
    [row] = await box.outbox()
    assert row.status == "sent"
    clock.advance(timedelta(hours=2))
    assert await send_due(db, settings, clock.now()) == 0
    assert len(relay.received) == 2


async def test_concurrent_senders_send_each_mail_once(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    await box.customer()
    for _ in range(3):
        await box.post(mail())
    relay.start()

    sent = await asyncio.gather(
        *(send_due(box.api.db, settings, box.api.clock.now()) for _ in range(4))
    )

    assert sum(sent) == 3
    assert len(relay.received) == 3
    assert len({m["Message-ID"] for m in relay.received}) == 3
    assert {r.status for r in await box.outbox()} == {"sent"}


async def test_a_mail_is_given_up_only_after_the_last_attempt_and_can_be_requeued(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    settings.email_outbox_max_attempts = 3
    await box.customer()
    await box.post(mail())
    db, clock = box.api.db, box.api.clock
    for _ in range(3):
        await send_due(db, settings, clock.now())
        clock.advance(timedelta(hours=1))
    [row] = await box.outbox()
    assert (row.status, row.attempts) == ("dead", 3)

    async with db.unit_of_work() as session:
        assert await requeue_dead(session, clock.now()) == 1
    relay.start()
    assert await send_due(db, settings, clock.now()) == 1
    assert (await box.outbox())[0].status == "sent"


def test_backoff_doubles_up_to_the_cap(settings: Settings) -> None:
    delays = [backoff(n, settings).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


async def test_a_staff_reply_and_its_mail_commit_or_roll_back_together(
    box: Mailbox, settings: Settings
) -> None:
    """The outbox row is written in the message's transaction: an API ticket's staff reply
    goes to the customer's e-mail, and a failure after it leaves no mail behind."""
    customer_id = await box.customer()
    created = await box.client.post(
        "/v1/tickets",
        json={"customer_id": customer_id, "line": "customer_relations",
              "subject": "Renewal invoice is missing", "body": "Where is it?"},
        headers=box.api.admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    staff = Principal(key_id="key_test", role=Role.engineer, customer_id=None)

    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        async with box.api.db.unit_of_work() as session:
            await desk.add_message(
                session, ticket_id, body="Sent again.", internal=False, author=staff,
                settings=settings, now=box.api.clock.now(),
            )  # fmt: skip
            assert len(await box_outbox_in(session)) == 1  # written, not yet committed
            raise Crash
    assert await box.outbox() == []

    async with box.api.db.unit_of_work() as session:
        await desk.add_message(
            session, ticket_id, body="Sent again.", internal=False, author=staff,
            settings=settings, now=box.api.clock.now(),
        )  # fmt: skip
    [row] = await box.outbox()
    assert (row.kind, row.recipient, row.in_reply_to) == ("staff_reply", "ops@acme.example", None)


async def box_outbox_in(session: AsyncSession) -> list[OutboxEmail]:
    return list((await session.execute(select(OutboxEmail))).scalars())


async def test_a_subject_with_line_breaks_is_sent_on_one_line(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    customer_id = await box.customer()
    created = await box.client.post(
        "/v1/tickets",
        json={"customer_id": customer_id, "line": "customer_relations",
              "subject": "Renewal\r\nBcc: victim@example.com", "body": "Where is it?"},
        headers=box.api.admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    reply = await box.client.post(
        f"/v1/tickets/{created.json()['id']}/messages",
        json={"body": "Sent again."},
        headers=await box.api.key("cr_agent"),
    )
    assert reply.status_code == 201
    relay.start()

    assert await send_due(box.api.db, settings, box.api.clock.now()) == 1

    [received] = relay.received
    number = created.json()["number"]
    assert received["Subject"] == f"Re: [#{number}] Renewal Bcc: victim@example.com"
    assert received["Bcc"] is None
    assert relay.envelopes[0][1] == ["ops@acme.example"]


async def test_without_a_relay_mail_is_kept_pending_and_never_attempted(
    box: Mailbox, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """No CREDITDESK_EMAIL_SMTP_HOST: no connection is tried (it used to try 127.0.0.1:25
    thirty times until the row was dead); the mail waits, said so once, and goes out
    unchanged once a relay is configured."""
    assert Settings(_env_file=None).email_smtp_host is None  # type: ignore[call-arg]
    await box.customer(credits=1)
    await box.post(mail(to=TECH))
    db, clock = box.api.db, box.api.clock
    unconfigured = settings.model_copy(update={"email_smtp_host": None})
    with caplog.at_level("WARNING", logger="creditdesk.email.outbox"):
        for _ in range(3):
            assert await send_due(db, unconfigured, clock.now()) == 0
            clock.advance(timedelta(days=1))
    [row] = await box.outbox()
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    warnings = [r.getMessage() for r in caplog.records if "no SMTP relay" in r.getMessage()]
    assert len(warnings) == 1 and "1 outgoing mail kept pending" in warnings[0]


async def test_mail_kept_without_a_relay_goes_out_once_one_is_configured(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    await box.customer(credits=1)
    await box.post(mail(to=TECH))
    db, clock = box.api.db, box.api.clock
    unconfigured = settings.model_copy(update={"email_smtp_host": None})
    assert await send_due(db, unconfigured, clock.now()) == 0
    relay.start()
    assert await send_due(db, settings, clock.now()) == 1
    [row] = await box.outbox()
    assert (row.status, row.attempts) == ("sent", 1)
