"""Attachments over HTTP: multipart uploads on tickets and messages, the mail's limits,
stored and downloaded like mail attachments."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Api
from tests.desk.conftest import Desk, Person

LOG = ("backup.log", b"2026-11-02 09:00 E_SNAPSHOT_LOCK\n", "text/plain")
DUMP = ("core.dump", bytes(range(256)) * 4, "application/octet-stream")


async def _upload(
    desk: Desk, path: str, headers: dict[str, str], *files: tuple[str, bytes, str]
) -> httpx.Response:
    return await desk.client.post(path, files=[("files", f) for f in files], headers=headers)


async def _listed(desk: Desk, ticket_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await desk.client.get(f"/v1/tickets/{ticket_id}/attachments", headers=headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_a_customer_attaches_files_to_a_ticket_and_downloads_them(desk: Desk) -> None:
    who = await desk.person(credits=1)
    ticket = await desk.ticket(who)
    response = await _upload(
        desk, f"/v1/tickets/{ticket['id']}/attachments", who.headers, LOG, DUMP
    )
    assert response.status_code == 201, response.text
    stored = response.json()["data"]
    assert [(a["filename"], a["size"], a["content_type"]) for a in stored] == [
        ("backup.log", len(LOG[1]), "text/plain"), ("core.dump", 1024, "application/octet-stream"),
    ]  # fmt: skip
    messages = await desk.client.get(f"/v1/tickets/{ticket['id']}/messages", headers=who.headers)
    opening = messages.json()["data"][0]["id"]
    assert {a["message_id"] for a in stored} == {opening}
    assert await _listed(desk, ticket["id"], who.headers) == stored
    download = await desk.client.get(f"/v1/attachments/{stored[1]['id']}", headers=who.headers)
    assert download.status_code == 200 and download.content == DUMP[1]
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''core.dump"


async def test_files_on_messages_and_who_may_attach_where(desk: Desk) -> None:
    who, stranger = await desk.person(credits=1), await desk.person()
    ticket = await desk.ticket(who)
    engineer = await desk.staff("engineer")
    note = await desk.post(
        f"/v1/tickets/{ticket['id']}/messages", engineer, {"body": "Repro steps.", "internal": True}
    )
    answer = await desk.post(
        f"/v1/tickets/{ticket['id']}/messages", engineer, {"body": "Try this."}
    )
    mine = await desk.post(f"/v1/tickets/{ticket['id']}/messages", who.headers, {"body": "Logs."})
    base = f"/v1/tickets/{ticket['id']}/messages"

    ok = await _upload(desk, f"{base}/{mine.json()['id']}/attachments", who.headers, LOG)
    assert ok.status_code == 201 and ok.json()["data"][0]["message_id"] == mine.json()["id"]
    staff = await _upload(desk, f"{base}/{note.json()['id']}/attachments", engineer, DUMP)
    assert staff.status_code == 201
    for message in (note, answer):  # an internal note, or staff's message: not the customer's
        refused = await _upload(
            desk, f"{base}/{message.json()['id']}/attachments", who.headers, LOG
        )
        assert refused.status_code == 404
    assert (await _upload(desk, f"{base}/msg_nope/attachments", engineer, LOG)).status_code == 404
    hidden = await _upload(desk, f"/v1/tickets/{ticket['id']}/attachments", stranger.headers, LOG)
    assert hidden.status_code == 404
    finance = await _upload(
        desk, f"/v1/tickets/{ticket['id']}/attachments", await desk.staff("finance"), LOG
    )
    assert finance.status_code == 403
    other_download = await desk.client.get(
        f"/v1/attachments/{ok.json()['data'][0]['id']}", headers=stranger.headers
    )
    assert other_download.status_code == 404


async def test_the_mail_limits_apply_and_refusals_store_nothing(desk: Desk, api: Api) -> None:
    who: Person = await desk.person(credits=1)
    ticket = await desk.ticket(who)
    path = f"/v1/tickets/{ticket['id']}/attachments"
    api.app.state.settings.email_max_attachment_bytes = 100
    big = await _upload(desk, path, who.headers, LOG, DUMP)
    assert big.status_code == 413
    assert big.headers["content-type"].startswith("application/problem+json")
    assert (big.json()["code"], big.json()["filename"]) == ("attachment_too_large", "core.dump")
    api.app.state.settings.email_max_attachments = 2
    many = await _upload(desk, path, who.headers, LOG, LOG, LOG)
    assert (many.status_code, many.json()["code"]) == (422, "too_many_attachments")
    assert await _listed(desk, ticket["id"], who.headers) == []
    assert (await _upload(desk, path, who.headers, LOG, LOG)).status_code == 201
    third = await _upload(desk, path, who.headers, LOG)  # the message already holds two
    assert third.status_code == 422
    none = await desk.client.post(path, headers=who.headers, data={"x": "1"})
    assert none.status_code == 422
    await desk.post(f"/v1/tickets/{ticket['id']}/status", who.headers, {"status": "closed"})
    closed = await _upload(desk, path, await desk.staff("engineer"), LOG)
    assert (closed.status_code, closed.json()["code"]) == (409, "ticket_closed")
    assert len(await _listed(desk, ticket["id"], who.headers)) == 2
