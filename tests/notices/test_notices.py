"""Customer mail notices (docs/notices.md): each fact mailed once, in the customer's language,
with its `notice.*` event; re-runs and concurrent rounds write nothing twice."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from app.notices import service
from app.settings import Settings
from tests.conftest import Api
from tests.desk.conftest import Desk, Person

CABINET = "https://cabinet.example/app"


@pytest.fixture
def desk(api: Api) -> Desk:
    return Desk(api)


@pytest.fixture
def notice_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cabinet_url": CABINET})


async def _round(api: Api, settings: Settings) -> int:
    return await service.notice_ticket_events(api.db, settings, api.clock.now())


async def _mails(run_sql: Any, customer_email: str) -> list[tuple[str, str]]:
    rows = await run_sql(
        "SELECT subject, body FROM email_outbox WHERE kind = 'notice' AND recipient = :r "
        "ORDER BY seq",
        r=customer_email,
    )
    return [(subject, body) for subject, body in rows]


async def _notice_events(run_sql: Any, customer_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await run_sql(
        "SELECT type, data FROM events WHERE customer_id = :c AND type LIKE 'notice.%' "
        "ORDER BY seq",
        c=customer_id,
    )
    return [(t, (json.loads(d) if isinstance(d, str) else d)["object"]) for t, d in rows]


async def _person(desk: Desk, credits: int, locale: str, email: str) -> Person:
    return await desk.person(credits=credits, locale=locale, email=email, name="Mia")


async def _resolved(desk: Desk, who: Person, **fields: Any) -> dict[str, Any]:
    """A new ticket of `who`, resolved by staff."""
    ticket = await desk.ticket(who, **fields)
    resolved = await desk.post(
        f"/v1/tickets/{ticket['id']}/status", desk.api.admin, {"status": "resolved"}
    )
    assert resolved.status_code == 200, resolved.text
    return ticket


@pytest.mark.parametrize("locale", ["en", "ru"])
async def test_transfer_awaiting_consent_is_mailed_once_with_the_ticket_link(
    desk: Desk, api: Api, run_sql: Any, notice_settings: Settings, locale: str
) -> None:
    mia = await _person(desk, 1, locale, f"mia-{locale}@example.com")
    ticket = await desk.ticket(mia, "customer_relations", subject="Backups fail after update 5.2")
    moved = await desk.post(
        f"/v1/tickets/{ticket['id']}/transfer", api.admin, {"to_line": "technical"}
    )
    assert moved.status_code == 200 and moved.json()["status"] == "awaiting_approval"

    assert await _round(api, notice_settings) == 1
    assert await _round(api, notice_settings) == 0  # a re-run finds the fact told

    mails = await _mails(run_sql, f"mia-{locale}@example.com")
    assert len(mails) == 1
    subject, body = mails[0]
    link = f"{CABINET}/#/tickets/{ticket['id']}"
    number = ticket["number"]
    if locale == "ru":
        assert subject == (
            f"Обращение №{number}: нужно ваше согласие на передачу в техническую поддержку"
        )
        assert body.startswith("Здравствуйте, Mia!")
        assert f"Согласиться или отказаться можно на странице обращения: {link}" in body
        assert "«Backups fail after update 5.2»" in body
    else:
        assert (
            subject == f"Ticket #{number}: your consent is needed to move it to technical support"
        )
        assert body.startswith("Hello Mia,")
        assert f"Accept or decline on the ticket's page: {link}" in body
    events = await _notice_events(run_sql, mia.id)
    assert [t for t, _ in events] == ["notice.transfer_consent"]
    obj = events[0][1]
    assert obj["ticket_id"] == ticket["id"] and obj["link"] == link
    assert obj["locale"] == locale and obj["subject"] == subject

    # declined, then asked again: a new fact, a new notice
    declined = await desk.post(f"/v1/tickets/{ticket['id']}/transfer/decline", mia.headers)
    assert declined.status_code == 200, declined.text
    await desk.post(f"/v1/tickets/{ticket['id']}/transfer", api.admin, {"to_line": "technical"})
    assert await _round(api, notice_settings) == 1
    assert len(await _mails(run_sql, f"mia-{locale}@example.com")) == 2


@pytest.mark.parametrize("locale", ["en", "ru"])
async def test_a_refund_says_why_names_the_ticket_and_the_balance_after(
    desk: Desk, api: Api, run_sql: Any, notice_settings: Settings, locale: str
) -> None:
    email = f"ned-{locale}@example.com"
    ned = await _person(desk, 3, locale, email)
    bug = await desk.ticket(ned, subject="Installer crashes on Debian 12")
    scope = await desk.ticket(ned, subject="Configure our office printer")
    merged = await desk.ticket(ned, subject="Installer crashes again on Debian 12")
    assert (await desk.available(ned.id)) == 0
    confirmed = await desk.post(
        f"/v1/tickets/{bug['id']}/bug-confirmation", api.admin, {"bug_reference": "BUG-123"}
    )
    assert confirmed.status_code == 200, confirmed.text
    out = await desk.post(
        f"/v1/tickets/{scope['id']}/out-of-scope", api.admin, {"reason": "printers are not ours"}
    )
    assert out.status_code == 200, out.text
    merge = await desk.post(f"/v1/tickets/{merged['id']}/merge", api.admin, {"into": bug["id"]})
    assert merge.status_code == 200, merge.text

    assert await _round(api, notice_settings) == 3
    assert await _round(api, notice_settings) == 0
    mails = await _mails(run_sql, email)
    assert len(mails) == 3
    (s1, b1), (s2, b2), (s3, b3) = mails
    if locale == "ru":
        assert s1 == f"Обращение №{bug['number']}: возвращён 1 кредит"
        assert (s2, s3) == (
            f"Обращение №{scope['number']}: возвращён 1 кредит",
            f"Обращение №{merged['number']}: возвращён 1 кредит",
        )
        assert "Причина: наши инженеры подтвердили ошибку в нашем продукте (BUG-123)." in b1
        assert "«Installer crashes on Debian 12»" in b1
        assert "Теперь на вашем балансе 1 кредит." in b1
        assert "запрос не относится к технической поддержке (printers are not ours)" in b2
        assert "Теперь на вашем балансе 2 кредита." in b2
        assert f"объединено с обращением №{bug['number']}" in b3
        assert "Теперь на вашем балансе 3 кредита." in b3
    else:
        assert s1 == f"Ticket #{bug['number']}: 1 credit refunded"
        assert (s2, s3) == (
            f"Ticket #{scope['number']}: 1 credit refunded",
            f"Ticket #{merged['number']}: 1 credit refunded",
        )
        assert "Reason: our engineers confirmed a bug in our product (BUG-123)." in b1
        assert f"your ticket #{bug['number']} “Installer crashes on Debian 12”" in b1
        assert "Your balance is now 1 credit." in b1
        assert "not a technical-support matter (printers are not ours)" in b2
        assert "Your balance is now 2 credits." in b2
        assert f"merged into ticket #{bug['number']}" in b3
        assert "Your balance is now 3 credits." in b3
    events = await _notice_events(run_sql, ned.id)
    assert [t for t, _ in events] == ["notice.ticket_refunded"] * 3
    assert [(o["refund_reason"], o["bug_reference"], o["available"]) for _, o in events] == [
        ("product_bug", "BUG-123", 1), ("out_of_scope", None, 2), ("merged", None, 3),
    ]  # fmt: skip


@pytest.mark.parametrize("locale", ["en", "ru"])
async def test_a_resolved_ticket_is_mailed_once(
    desk: Desk, api: Api, run_sql: Any, settings: Settings, locale: str
) -> None:
    email = f"olga-{locale}@example.com"
    olga = await _person(desk, 1, locale, email)
    ticket = await _resolved(desk, olga, subject="Mail server rejects TLS 1.3")

    # without CREDITDESK_CABINET_URL the mail points to the cabinet without a link
    assert await _round(api, settings) == 1
    assert await _round(api, settings) == 0
    [(subject, body)] = await _mails(run_sql, email)
    days = settings.reopen_window_days
    if locale == "ru":
        assert subject == f"Обращение №{ticket['number']} решено"
        assert "открыть снова в личном кабинете в течение" in body
    else:
        assert subject == f"Ticket #{ticket['number']} is resolved"
        assert f"you can reopen the ticket in your cabinet within {days} days." in body
    [(type_, obj)] = await _notice_events(run_sql, olga.id)
    assert type_ == "notice.ticket_resolved" and obj["link"] is None


async def test_concurrent_rounds_and_re_runs_mail_each_fact_once(
    desk: Desk, api: Api, run_sql: Any, notice_settings: Settings
) -> None:
    people = [await _person(desk, 1, "en", f"p{i}@example.com") for i in range(3)]
    for person in people:
        ticket = await _resolved(desk, person)
        await desk.post(
            f"/v1/tickets/{ticket['id']}/bug-confirmation", api.admin, {"bug_reference": "BUG-9"}
        )
    rounds = await asyncio.gather(*(_round(api, notice_settings) for _ in range(4)))
    assert sum(rounds) == 6  # 3 resolved + 3 refunded, whoever wrote them
    assert await _round(api, notice_settings) == 0
    counts = await run_sql(
        "SELECT count(*), count(DISTINCT key) FROM notices UNION ALL "
        "SELECT count(*), count(DISTINCT id) FROM email_outbox WHERE kind = 'notice' UNION ALL "
        "SELECT count(*), count(DISTINCT id) FROM events WHERE type LIKE 'notice.%'"
    )
    assert counts == [(6, 6), (6, 6), (6, 6)]


async def test_a_ticket_event_older_than_the_lookback_is_not_mailed(
    desk: Desk, api: Api, run_sql: Any, notice_settings: Settings
) -> None:
    late = await _person(desk, 1, "en", "late@example.com")
    await _resolved(desk, late)
    api.clock.advance(timedelta(hours=notice_settings.notices.lookback_hours, seconds=1))
    assert await _round(api, notice_settings) == 0
    assert await _mails(run_sql, "late@example.com") == []


async def test_notices_can_be_turned_off(
    desk: Desk, api: Api, run_sql: Any, notice_settings: Settings
) -> None:
    from app.notices.feature import ticket_notices

    off = await _person(desk, 1, "en", "off@example.com")
    await _resolved(desk, off)
    disabled = notice_settings.model_copy(
        update={"notices": notice_settings.notices.model_copy(update={"enabled": False})}
    )
    await ticket_notices(api.db, api.clock, disabled)
    assert await _mails(run_sql, "off@example.com") == []
    await ticket_notices(api.db, api.clock, notice_settings)
    assert len(await _mails(run_sql, "off@example.com")) == 1


async def test_the_customer_and_staff_list_the_notices_sent(
    desk: Desk, api: Api, notice_settings: Settings
) -> None:
    ivan = await _person(desk, 2, "ru", "ivan@example.com")
    other = await _person(desk, 0, "en", "other@example.com")
    for _ in range(2):
        await _resolved(desk, ivan)
    assert await _round(api, notice_settings) == 2

    path = f"/v1/customers/{ivan.id}/notices"
    first = await api.client.get(path, params={"limit": 1}, headers=ivan.headers)
    assert first.status_code == 200, first.text
    [newest] = first.json()["data"]
    assert newest["kind"] == "ticket_resolved" and newest["locale"] == "ru"
    assert newest["subject"].startswith("Обращение №") and newest["link"].startswith(CABINET)
    rest = await api.client.get(
        path, params={"limit": 1, "cursor": first.json()["next_cursor"]}, headers=api.admin
    )
    assert [n["id"] for n in rest.json()["data"]] != [newest["id"]]
    assert len(rest.json()["data"]) == 1 and rest.json()["next_cursor"] is None
    assert (await api.client.get(path, headers=other.headers)).status_code == 404
    bad = await api.client.get(path, params={"cursor": "nonsense"}, headers=ivan.headers)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


async def test_each_refund_of_a_ticket_refunded_twice_tells_its_own_reason_and_balance(
    desk: Desk, api: Api, run_sql: Any, notice_settings: Settings
) -> None:
    quinn = await desk.person(
        credits=2, auto_accept_transfers=True, email="quinn@example.com", name="Quinn"
    )
    ticket = await desk.ticket(quinn, "customer_relations")
    path = f"/v1/tickets/{ticket['id']}"
    for to_line in ("technical", "customer_relations"):  # charged, then refunded: misrouted
        moved = await desk.post(f"{path}/transfer", api.admin, {"to_line": to_line})
        assert moved.status_code == 200, moved.text
    api.clock.advance(timedelta(minutes=5))  # requests have their own `now`
    await api.grant(quinn.id, 3)  # 5
    again = await desk.post(f"{path}/transfer", api.admin, {"to_line": "technical"})  # 4
    assert again.json()["charge"]["refunded"] is False
    bug = await desk.post(f"{path}/bug-confirmation", api.admin, {"bug_reference": "BUG-7"})
    assert bug.status_code == 200, bug.text  # 5

    assert await _round(api, notice_settings) == 2  # both refunds, told in one late round
    [(_, first), (_, second)] = await _mails(run_sql, "quinn@example.com")
    assert "moved back to the free customer-relations line" in first
    assert "Your balance is now 2 credits." in first
    assert "(BUG-7)" in second and "Your balance is now 5 credits." in second
