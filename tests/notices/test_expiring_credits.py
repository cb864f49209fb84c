"""Expiry warnings: N days before a lot expires (14 and 1 by default), once per lot and
warning, under a controlled clock."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from app.kit.auth import Role
from app.notices import service
from app.settings import Settings
from tests.conftest import Api


async def _customer(api: Api, email: str, locale: str = "en") -> str:
    customer = await api.customer(name="Ivan", email=email, locale=locale)
    return str(customer["id"])


async def _grant(api: Api, customer_id: str, credits: int, valid_days: int | None) -> None:
    response = await api.client.post(
        f"/v1/customers/{customer_id}/adjustments",
        json={"credits": credits, "reason": "test grant", "valid_days": valid_days},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text


async def _warn(api: Api, settings: Settings) -> int:
    return await service.warn_expiring_credits(api.db, settings, api.clock.now())


async def _warnings(run_sql: Any) -> list[tuple[str, str, int, int]]:
    rows = await run_sql(
        "SELECT e.customer_id, e.data, o.subject FROM events e JOIN notices n "
        "ON n.event_id = e.id JOIN email_outbox o ON o.id = n.outbox_id "
        "WHERE e.type = 'notice.credits_expiring' ORDER BY e.seq"
    )
    found = []
    for customer_id, data, subject in rows:
        obj = (json.loads(data) if isinstance(data, str) else data)["object"]
        found.append((customer_id, subject, obj["credits"], obj["days_before"]))
    return found


@pytest.fixture
def warn_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cabinet_url": "https://cabinet.example"})


async def test_fourteen_days_then_one_day_before_once_each(
    api: Api, run_sql: Any, warn_settings: Settings
) -> None:
    assert warn_settings.notices.expiry_warning_days == [1, 14]
    anna = await _customer(api, "anna@example.com")
    boris = await _customer(api, "boris@example.com", "ru")
    never = await _customer(api, "never@example.com")
    await _grant(api, anna, 3, 30)
    await _grant(api, boris, 2, 10)
    await _grant(api, never, 5, None)

    assert await _warn(api, warn_settings) == 1  # boris: 10 days left, inside 14
    assert await _warn(api, warn_settings) == 0
    assert await _warnings(run_sql) == [
        (boris, "2 кредита поддержки сгорят 12 ноября 2026\u202fг.", 2, 14),
    ]
    [body] = await run_sql("SELECT body FROM email_outbox WHERE recipient = 'boris@example.com'")
    assert "сгорят 12 ноября 2026\u202fг. в 09:00 UTC." in body[0]
    assert "Ваш баланс и обращения: https://cabinet.example/#/" in body[0]

    api.clock.advance(timedelta(days=9, hours=1))  # boris: 23 h left; anna: 21 days
    assert await _warn(api, warn_settings) == 1
    assert await _warnings(run_sql) == [
        (boris, "2 кредита поддержки сгорят 12 ноября 2026\u202fг.", 2, 14),
        (boris, "2 кредита поддержки сгорят 12 ноября 2026\u202fг.", 2, 1),
    ]

    api.clock.advance(timedelta(days=8))  # anna: 13 days less an hour; boris expired
    assert await _warn(api, warn_settings) == 1
    assert await _warn(api, warn_settings) == 0
    assert (await _warnings(run_sql))[-1] == (
        anna,
        "3 support credits expire on December 2, 2026",
        3,
        14,
    )
    [body] = await run_sql("SELECT body FROM email_outbox WHERE recipient = 'anna@example.com'")
    assert (
        "3 credits of your prepaid support balance expire on December 2, 2026 at 09:00 UTC."
        in body[0]
    )
    assert len(await _warnings(run_sql)) == 3  # `never` has no expiry


async def test_a_lot_inside_the_last_window_gets_only_its_warning(
    api: Api, run_sql: Any, warn_settings: Settings
) -> None:
    late = await _customer(api, "late@example.com")
    await _grant(api, late, 1, 1)  # expires in exactly one day: the 1-day window only
    assert await _warn(api, warn_settings) == 1
    api.clock.advance(timedelta(hours=12))
    assert await _warn(api, warn_settings) == 0
    assert await _warnings(run_sql) == [
        (late, "1 support credit expires on November 3, 2026", 1, 1)
    ]


async def test_spent_credits_are_not_warned_and_concurrent_rounds_warn_once(
    api: Api, run_sql: Any, warn_settings: Settings
) -> None:
    spent = await _customer(api, "spent@example.com")
    await _grant(api, spent, 1, 5)
    key = await api.key(Role.customer, spent)
    ticket = await api.client.post(
        "/v1/tickets",
        json={"line": "technical", "subject": "Mail server rejects TLS", "body": "Since 5.2."},
        headers=key,
    )
    assert ticket.status_code == 201, ticket.text
    many = [await _customer(api, f"c{i}@example.com") for i in range(4)]
    for customer_id in many:
        await _grant(api, customer_id, 2, 7)
    rounds = await asyncio.gather(*(_warn(api, warn_settings) for _ in range(4)))
    assert sum(rounds) == 4
    assert sorted(w[0] for w in await _warnings(run_sql)) == sorted(many)
    assert await run_sql("SELECT count(*) FROM email_outbox WHERE kind = 'notice'") == [(4,)]


async def test_the_warning_days_are_configurable(
    api: Api, run_sql: Any, warn_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITDESK_NOTICES_EXPIRY_WARNING_DAYS", "[3]")
    three = warn_settings.model_copy(update={"notices": type(warn_settings.notices)()})
    assert three.notices.expiry_warning_days == [3]
    customer = await _customer(api, "three@example.com")
    await _grant(api, customer, 1, 5)
    assert await _warn(api, three) == 0
    api.clock.advance(timedelta(days=2))
    assert await _warn(api, three) == 1
    assert [w[3] for w in await _warnings(run_sql)] == [3]
