"""The same period always gives the same bytes (finance.md), in every format: exported
twice while the period is still open, after the clock moved on, after a restart of the
server, and after entries were posted outside the period. The DATEV header's creation time
used to be the clock's and made two identical exports differ (issue 27)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.kit.clock import FrozenClock
from app.main import create_app
from app.settings import Settings
from credits import accounts as acc
from credits import service
from tests.conftest import Api, admin_api
from tests.exports.test_books_api import csv_rows
from tests.exports.test_export_api import paid_history

PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}
FORMATS = ("csv", "jsonl", "xlsx", "xero", "quickbooks", "datev")


async def _exports(api: Api) -> dict[str, bytes]:
    found = {}
    for fmt in FORMATS:
        response = await api.client.get(
            "/v1/exports/journal", params={**PERIOD, "format": fmt}, headers=api.admin
        )
        assert response.status_code == 200, (fmt, response.text)
        found[fmt] = response.content
    return found


async def test_every_format_of_a_period_is_the_same_bytes_whenever_exported(
    settings: Settings, clock: FrozenClock
) -> None:
    settings = settings.model_copy(update={"account_chart": "skr03"})
    assert datetime(2026, 11, 1, tzinfo=UTC) <= clock.now() < datetime(2026, 12, 1, tzinfo=UTC)
    async with admin_api(create_app(settings, clock=clock), clock) as api:
        await paid_history(api)  # a sale, then a ticket charged an hour later
        last_entry = clock.now() - timedelta(hours=1)
        first = await _exports(api)
        clock.advance(timedelta(minutes=7, seconds=3, milliseconds=141))  # the period is open
        assert await _exports(api) == first
        # Later entries, outside the period, change nothing in it.
        clock.advance(datetime(2026, 12, 3, tzinfo=UTC) - clock.now())
        customer = await api.customer()
        async with api.db.unit_of_work() as session:
            await service.grant(
                session, customer["id"], credits=1, amount=3000, currency="EUR",
                source="purchase", now=clock.now(), cash_account=acc.CASH_STRIPE,
            )  # fmt: skip
        assert await _exports(api) == first
    clock.advance(timedelta(days=40))
    async with admin_api(create_app(settings, clock=clock), clock) as restarted:  # a new process
        assert await _exports(restarted) == first
    # DATEV's "erzeugt am" is the last money entry's time, in the books' zone (Berlin, +1).
    header = csv_rows(first["datev"], "cp1252", ";")[0]
    berlin = last_entry + timedelta(hours=1)
    assert header[5] == berlin.strftime("%Y%m%d%H%M%S") + f"{berlin.microsecond // 1000:03d}"


async def test_a_period_without_money_entries_is_dated_by_its_start(api: Api) -> None:
    api_settings = api.app.state.settings.model_copy(update={"account_chart": "skr03"})
    async with admin_api(create_app(api_settings, clock=api.clock), api.clock) as skr:
        params = {"from": "2026-06-01", "to": "2026-07-01", "format": "datev"}
        response = await skr.client.get("/v1/exports/journal", params=params, headers=skr.admin)
        assert response.status_code == 200, response.text
        header, _columns, *rows = csv_rows(response.content, "cp1252", ";")
        assert rows == []
        assert header[5] == "20260601000000000"  # 1 June 00:00 in Berlin
