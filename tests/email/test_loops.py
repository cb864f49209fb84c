"""No answer to robots and no tickets from them (RFC 3834): Auto-Submitted, bulk/list/
junk/auto_reply precedence, X-Autoreply, out-of-office subjects, bounces and mailer
daemons; a per-sender limit on refusals breaks loops with anything else, and the receipt
of a new ticket is never withheld."""

from __future__ import annotations

from datetime import timedelta

from tests.email.conftest import Mailbox, mail

AUTOMATED = [
    {"Auto_Submitted": "auto-replied"},
    {"Auto_Submitted": "auto-generated"},
    {"Auto_Submitted": "auto-notified; owner-email=ops@acme.example"},
    {"Precedence": "bulk"},
    {"Precedence": "list"},
    {"Precedence": "junk"},
    {"Precedence": "auto_reply"},
    {"X_Autoreply": "yes"},
    {"X_Autorespond": "true"},
    {"subject": "Out of Office: Installer fails on step 9"},
    {"subject": "Automatic reply: Installer fails on step 9"},
    {"subject": "Автоответ: Installer fails on step 9"},
]


async def test_automated_mail_is_neither_answered_nor_made_a_ticket(listener: Mailbox) -> None:
    """RFC 3834 §2 and §5, through the real SMTP intake: a robot's mail from a known
    customer with a fine subject is recorded, not answered, and opens nothing."""
    box = listener
    customer = await box.customer(credits=20)
    await box.customer(email="postmaster@acme2.example", credits=1)
    for headers in AUTOMATED:
        await box.smtp(mail(**headers))
    await box.smtp(mail(sender="postmaster@acme2.example"))
    await box.smtp(mail(sender="MAILER-DAEMON@relay.example"))
    await box.smtp(mail(subject="Undelivered Mail Returned to Sender"), sender="")  # a bounce
    # an auto-reply to one of our mails does not thread into the ticket either
    await box.smtp(mail(subject="Re: [#1] Installer fails", Auto_Submitted="auto-replied"))
    outcomes = [i.outcome for i in await box.inbound()]
    assert outcomes == ["ignored_automated"] * (len(AUTOMATED) + 4)
    assert await box.outbox() == [] and await box.tickets() == []
    assert await box.available(customer) == 20
    # `Auto-Submitted: no` is a person.
    await box.smtp(mail(Auto_Submitted="no"))
    assert [i.outcome for i in await box.inbound()][-1] == "created"
    assert [o.kind for o in await box.outbox()] == ["auto_reply"]


async def test_the_receipt_of_a_new_ticket_is_never_withheld(listener: Mailbox) -> None:
    """Seed 004: the auto-reply is the customer's proof of receipt. The per-sender limit
    (3 here) holds back refusals only, so a loop of refusals still stops."""
    box = listener
    await box.customer(credits=2)
    for _ in range(5):
        await box.smtp(mail(subject="help"))
    assert [o.kind for o in await box.outbox()] == ["refusal"] * 3
    await box.smtp(mail(subject="Installer fails on step 3 of 7"))
    await box.smtp(mail(subject="help"))  # the limit still holds for refusals
    outcomes = [i.outcome for i in await box.inbound()]
    assert outcomes == ["refused_subject"] * 5 + ["created", "refused_subject"]
    kinds = [(o.kind, o.ticket_id is not None) for o in await box.outbox()]
    assert kinds == [("refusal", False)] * 3 + [("auto_reply", True)]


async def test_a_sender_asking_for_no_auto_answers_gets_only_receipts(listener: Mailbox) -> None:
    """`X-Auto-Response-Suppress: All|OOF|AutoReply` (Microsoft): no refusal is sent; a
    new ticket from a person is still opened and its receipt sent."""
    box = listener
    await box.customer(credits=1)
    for value in ("All", "OOF", "AutoReply", "DR, AutoReply"):
        await box.smtp(mail(subject="help", X_Auto_Response_Suppress=value))
    assert await box.outbox() == []
    await box.smtp(mail(X_Auto_Response_Suppress="All"))
    assert [i.outcome for i in await box.inbound()][-1] == "created"
    assert [o.kind for o in await box.outbox()] == ["auto_reply"]
    await box.smtp(mail(subject="help", X_Auto_Response_Suppress="DR"))  # not about answers
    assert [o.kind for o in await box.outbox()] == ["auto_reply", "refusal"]


async def test_replies_to_one_sender_are_rate_limited_per_window(box: Mailbox) -> None:
    for _ in range(5):
        result = await box.post(mail(sender="robot@loop.example"))
        assert result["outcome"] == "refused_unknown_sender"
    assert len(await box.outbox()) == 3  # email_reply_limit

    box.api.clock.advance(timedelta(minutes=61))
    assert (await box.post(mail(sender="robot@loop.example")))["replied"] is True
    assert (await box.post(mail(sender="other@loop.example")))["replied"] is True
    assert len(await box.outbox()) == 5


async def test_mail_from_our_own_address_is_never_answered(box: Mailbox) -> None:
    result = await box.post(mail(sender="support@desk.test"))
    assert (result["outcome"], result["replied"]) == ("refused_unknown_sender", False)
