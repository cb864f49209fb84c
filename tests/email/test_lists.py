"""Operator lists: received mail with its outcome (staff), outgoing mail (admin), paged."""

from __future__ import annotations

from app.email.outbox import send_due
from app.settings import Settings
from tests.email.conftest import Mailbox, Relay, mail


async def test_received_and_outgoing_mail_are_listed_newest_first_and_paged(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    customer_id = await box.customer()
    for message in (mail(), mail(sender="stranger@elsewhere.example"), mail(subject="help")):
        await box.post(message)
    agent = await box.api.key("cr_agent")

    first = await box.client.get("/v1/email/inbound?limit=2", headers=agent)
    assert first.status_code == 200, first.text
    second = await box.client.get(
        f"/v1/email/inbound?limit=2&cursor={first.json()['next_cursor']}", headers=agent
    )
    assert second.json()["next_cursor"] is None
    outcomes = [m["outcome"] for m in first.json()["data"] + second.json()["data"]]
    assert outcomes == ["refused_subject", "refused_unknown_sender", "created"]
    refused = await box.client.get(
        "/v1/email/inbound?outcome=refused_unknown_sender", headers=agent
    )
    [only] = refused.json()["data"]
    assert (only["sender"], only["customer_id"], only["ticket_id"]) == (
        "stranger@elsewhere.example", None, None
    )  # fmt: skip

    relay.start()
    await send_due(box.api.db, settings, box.api.clock.now())
    outbox = await box.client.get("/v1/email/outbox?status=sent", headers=box.api.admin)
    assert [m["kind"] for m in outbox.json()["data"]] == ["refusal", "refusal", "auto_reply"]
    assert all(m["attempts"] == 1 and m["sent_at"] for m in outbox.json()["data"])
    pending = await box.client.get("/v1/email/outbox?status=pending", headers=box.api.admin)
    assert pending.json()["data"] == []

    customer = await box.api.key("customer", customer_id)
    assert (await box.client.get("/v1/email/inbound", headers=customer)).status_code == 403
    assert (await box.client.get("/v1/email/outbox", headers=agent)).status_code == 403
    bad = await box.client.get("/v1/email/outbox?cursor=nonsense", headers=box.api.admin)
    assert bad.status_code == 422
