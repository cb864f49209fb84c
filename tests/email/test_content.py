"""Bodies in any charset, plain or HTML, MIME multipart; attachments within limits; too
large mail refused with a reply."""

from __future__ import annotations

import base64

from app.email.outbox import send_due
from app.settings import Settings
from tests.email.conftest import TECH, Mailbox, Relay, mail


def _raw(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode("ascii") + b"\r\n" + body


async def test_russian_in_koi8_r_windows_1251_html_and_encoded_words(
    listener: Mailbox, relay: Relay, settings: Settings
) -> None:
    box = listener
    await box.customer(credits=2)
    koi8 = _raw(
        "From: =?utf-8?b?0JjQstCw0L0=?= <ops@acme.example>\n"
        "To: support@desk.test\n"
        "Subject: =?koi8-r?b?8NLPwszFzcEg0yDV09TBzs/Xy8/K?=\n"
        "Message-ID: <koi8@acme.example>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=koi8-r\n"
        "Content-Transfer-Encoding: 8bit\n",
        "Установщик падает на шаге 3.".encode("koi8-r"),
    )
    html = "<html><head><style>p{}</style></head><body><p>Плеер показывает <b>ошибку 403</b></p><p>после обновления&nbsp;2.1</p></body></html>"
    cp1251 = _raw(
        "From: ops@acme.example\n"
        "To: tech@desk.test\n"
        "Subject: =?windows-1251?q?=CE=F8=E8=E1=EA=E0_403_=E2_=EF=EB=E5=E5=F0=E5?=\n"
        "Message-ID: <cp1251@acme.example>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/html; charset=windows-1251\n"
        "Content-Transfer-Encoding: base64\n",
        base64.encodebytes(html.encode("cp1251")),
    )

    first = await box.post(koi8)
    second = await box.post(cp1251)

    one = await box.ticket(first["ticket_id"])
    assert (one["subject"], one["body"]) == (
        "Проблема с установкой",
        "Установщик падает на шаге 3.",
    )
    two = await box.ticket(second["ticket_id"])
    assert two["subject"] == "Ошибка 403 в плеере"
    assert two["body"] == "Плеер показывает ошибку 403\n\nпосле обновления 2.1"
    assert two["line"] == "technical"

    # And by SMTP with SMTPUTF8-free 8-bit mail, from smtplib to the listener.
    await box.smtp(mail(subject="Сервер не стартует после обновления", body="Лог пустой."))
    latest = (await box.tickets())[0]
    assert (latest["subject"], latest["body"]) == (
        "Сервер не стартует после обновления", "Лог пустой."
    )  # fmt: skip

    # The auto-replies go out with their Russian subjects intact.
    relay.start()
    assert await send_due(box.api.db, settings, box.api.clock.now()) == 3
    subjects = sorted(str(m["Subject"]) for m in relay.received)
    assert subjects == sorted(f"[#{t['number']}] {t['subject']}" for t in (one, two, latest))


async def test_multipart_alternative_prefers_the_plain_text(box: Mailbox) -> None:
    await box.customer()
    message = mail(subject="Cabinet login rejects my password", body="Plain version.")
    message.add_alternative("<p>HTML <i>version</i>.</p>", subtype="html")

    result = await box.post(message)

    assert (await box.ticket(result["ticket_id"]))["body"] == "Plain version."


async def test_unknown_or_lying_charsets_do_not_fail(box: Mailbox) -> None:
    await box.customer()
    raw = _raw(
        "From: ops@acme.example\nTo: support@desk.test\nSubject: Odd charset in the log\n"
        "Message-ID: <odd@acme.example>\nContent-Type: text/plain; charset=x-no-such\n",
        "naïve café".encode(),
    )
    lying = _raw(
        "From: ops@acme.example\nTo: support@desk.test\nSubject: Lying charset here\n"
        "Message-ID: <lying@acme.example>\nContent-Type: text/plain; charset=us-ascii\n",
        b"bytes \xff\xfe here",
    )

    first, second = await box.post(raw), await box.post(lying)

    assert (await box.ticket(first["ticket_id"]))["body"] == "naïve café"
    assert (await box.ticket(second["ticket_id"]))["body"] == "bytes \ufffd\ufffd here"


async def test_attachments_are_stored_listed_and_downloaded_by_their_customer_only(
    listener: Mailbox,
) -> None:
    box = listener
    customer_id = await box.customer(credits=1)
    other_id = await box.customer(email="it@other.example")
    message = mail(to=TECH, subject="Streamer crashes with the attached config")
    config = "listen = 0.0.0.0\nканал = 1\n".encode()
    screenshot = bytes(range(256)) * 10
    message.add_attachment(config, maintype="text", subtype="plain", filename="streamer.conf")
    message.add_attachment(screenshot, maintype="image", subtype="png", filename="экран.png")

    await box.smtp(message)

    [ticket] = await box.tickets()
    [first_message] = await box.messages(ticket["id"])
    listed = await box.client.get(f"/v1/tickets/{ticket['id']}/attachments", headers=box.api.admin)
    assert listed.status_code == 200, listed.text
    data = listed.json()["data"]
    assert [(a["filename"], a["content_type"], a["size"], a["message_id"]) for a in data] == [
        ("streamer.conf", "text/plain", len(config), first_message["id"]),
        ("экран.png", "image/png", len(screenshot), first_message["id"]),
    ]
    own = await box.api.key("customer", customer_id)
    download = await box.client.get(f"/v1/attachments/{data[1]['id']}", headers=own)
    assert download.status_code == 200
    assert download.content == screenshot
    assert download.headers["content-type"] == "application/octet-stream"
    stranger = await box.api.key("customer", other_id)
    for path in (f"/v1/attachments/{data[0]['id']}", f"/v1/tickets/{ticket['id']}/attachments"):
        assert (await box.client.get(path, headers=stranger)).status_code == 404

    # A reply in the thread brings its own attachment, on its own message.
    reply = mail(subject=f"Re: [#{ticket['number']}] config", body="")
    reply.set_content("")
    reply.add_attachment(b"log line", maintype="text", subtype="plain", filename="s.log")
    result = await box.post(reply)
    assert result["outcome"] == "threaded"
    messages = await box.messages(ticket["id"])
    assert messages[-1]["body"] == "(no text; attachments: s.log)"
    listed = await box.client.get(f"/v1/tickets/{ticket['id']}/attachments", headers=box.api.admin)
    assert listed.json()["data"][-1]["message_id"] == messages[-1]["id"]


async def test_mail_over_the_limits_is_refused_with_a_reply(listener: Mailbox) -> None:
    box = listener
    customer_id = await box.customer(credits=3)
    big_file = mail(to=TECH, subject="Crash dump of the streamer attached")
    big_file.add_attachment(b"x" * 20_001, maintype="application", subtype="octet-stream",
                            filename="core.dump")  # fmt: skip
    too_many = mail(to=TECH, subject="Four screenshots of the failure")
    for n in range(4):
        too_many.add_attachment(b"png", maintype="image", subtype="png", filename=f"{n}.png")
    huge = mail(to=TECH, subject="Whole log pasted inline", body="line\n" * 13_000)

    await box.smtp(big_file)
    second = await box.post(too_many)
    third = await box.post(huge)

    outcomes = [i.outcome for i in await box.inbound()]
    assert outcomes == ["refused_too_large"] * 3
    assert second["ticket_id"] is third["ticket_id"] is None
    assert await box.tickets() == []
    assert await box.available(customer_id) == 3
    bodies = [r.body for r in await box.outbox()]
    assert "core.dump is 20001 bytes" in bodies[0]
    assert "it has 4 attachments" in bodies[1]
    assert "the message is" in bodies[2] and "60000 bytes per message" in bodies[2]
