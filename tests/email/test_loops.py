"""No answer to robots: Auto-Submitted, bulk/list/junk precedence, bounces and mailer
daemons; and a per-sender limit on automatic replies breaks loops with anything else."""

from __future__ import annotations

from datetime import timedelta

from tests.email.conftest import Mailbox, mail


async def test_automated_mail_is_handled_but_never_answered(listener: Mailbox) -> None:
    box = listener
    await box.customer(credits=1)
    await box.customer(email="postmaster@acme2.example")
    cases = [
        mail(Auto_Submitted="auto-replied"),
        mail(Precedence="bulk"),
        mail(Precedence="list"),
        mail(Precedence="junk"),
        mail(sender="postmaster@acme2.example"),
        mail(sender="MAILER-DAEMON@relay.example"),
    ]
    for message in cases:
        assert (await box.post(message))["replied"] is False

    outcomes = [i.outcome for i in await box.inbound()]
    assert outcomes == ["created"] * 5 + ["refused_unknown_sender"]
    # A bounce (empty envelope sender) over SMTP: handled, unanswered.
    bounce = mail(subject="Undelivered Mail Returned to Sender")
    await box.smtp(bounce, sender="")
    assert (await box.inbound())[-1].outcome == "created"
    assert await box.outbox() == []
    # `Auto-Submitted: no` is a person.
    assert (await box.post(mail(Auto_Submitted="no")))["replied"] is True


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
