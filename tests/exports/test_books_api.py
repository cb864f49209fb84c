"""The books' formats over HTTP: the account map, Xero, QuickBooks Online
and DATEV files of a known history, local booking dates, the Xero file limit, and an
unmapped account."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.main import create_app
from app.settings import Settings
from billing.exports.books_writers import (
    DATEV_COLUMNS,
    DATEV_HEADER_FIELDS,
    QUICKBOOKS_COLUMNS,
    XERO_COLUMNS,
)
from credits import accounts as acc
from credits import service
from tests.conftest import Api, admin_api, assert_reconciles
from tests.exports.test_export_api import paid_history

PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}


def csv_rows(data: bytes, encoding: str = "utf-8", delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=delimiter))


async def test_account_map_is_readable_by_finance_and_admin(api: Api) -> None:
    finance = await api.key(Role.finance)
    response = await api.client.get("/v1/exports/account-map", headers=finance)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["chart"] == "generic" and body["file"] is None
    assert set(body["accounts"]) == set(acc.MONEY_ACCOUNTS)
    assert body["accounts"]["deferred_revenue"] == {
        "code": "2400", "name": "Deferred Revenue - Support Credits"
    }  # fmt: skip
    assert (await api.client.get("/v1/exports/account-map", headers=api.admin)).status_code == 200
    for role in (Role.cr_agent, Role.engineer):
        denied = await api.client.get("/v1/exports/account-map", headers=await api.key(role))
        assert denied.status_code == 403


async def test_xero_file_of_a_known_history(api: Api) -> None:
    await paid_history(api)
    finance = await api.key(Role.finance)
    response = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "xero"}, headers=finance
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        'filename="journal_xero_2026-11-01_2026-12-01.csv"'
        in (response.headers["content-disposition"])
    )
    rows = csv_rows(response.content)
    assert tuple(rows[0]) == XERO_COLUMNS
    body = [(r[1], r[3], r[4], r[5], r[6:]) for r in rows[1:]]
    assert body == [
        ("02/11/2026", "1210", "Tax Exempt", "100.00", ["", "", "", ""]),
        ("02/11/2026", "2400", "Tax Exempt", "-100.00", ["", "", "", ""]),
        ("02/11/2026", "2400", "Tax Exempt", "20.00", ["", "", "", ""]),
        ("02/11/2026", "4000", "Tax Exempt", "-20.00", ["", "", "", ""]),
    ]
    assert rows[1][0] == rows[2][0] != rows[3][0] == rows[4][0]
    assert rows[1][0].startswith("CreditDesk grant:purchase ent_")


async def test_quickbooks_file_of_a_known_history(api: Api) -> None:
    await paid_history(api)
    response = await api.client.get(
        "/v1/exports/journal",
        params={**PERIOD, "format": "quickbooks", "summary": "monthly"},
        headers=api.admin,
    )
    assert response.status_code == 200, response.text
    rows = csv_rows(response.content)
    assert tuple(rows[0]) == QUICKBOOKS_COLUMNS
    assert [r[:5] for r in rows[1:]] == [
        ["CD-20261101-1", "11/30/2026", "Stripe Clearing", "100.00", ""],
        ["CD-20261101-1", "11/30/2026", "Deferred Revenue - Support Credits", "", "100.00"],
        ["CD-20261101-2", "11/30/2026", "Deferred Revenue - Support Credits", "20.00", ""],
        ["CD-20261101-2", "11/30/2026", "Support Revenue", "", "20.00"],
    ]
    assert all(len(r[0]) <= 21 for r in rows[1:])


@pytest.fixture(params=["skr03", "skr04"])
async def datev_api(
    request: pytest.FixtureRequest, settings: Settings, clock: FrozenClock
) -> AsyncIterator[Api]:
    """The API with a DATEV standard chart as the account map."""
    app = create_app(settings.model_copy(update={"account_chart": request.param}), clock=clock)
    async with admin_api(app, clock) as api:
        yield api
        await assert_reconciles(app.state.db)


# (cash:stripe, deferred_revenue, revenue:support) and the header's Sachkontenrahmen
DATEV_ACCOUNTS = {"skr03": ("1360", "1710", "8200", "03"), "skr04": ("1460", "3250", "4200", "04")}


async def test_datev_file_of_a_known_history(datev_api: Api) -> None:
    api = datev_api
    await paid_history(api)
    chart = (await api.client.get("/v1/exports/account-map", headers=api.admin)).json()["chart"]
    response = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "datev"}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=windows-1252"
    assert b"\r\n" in response.content and b"\n" not in response.content.replace(b"\r\n", b"")
    header, columns, *rows = csv_rows(response.content, "cp1252", ";")
    assert len(header) == DATEV_HEADER_FIELDS == 31
    assert header[:5] == ["EXTF", "700", "21", "Buchungsstapel", "13"]
    assert header[10:16] == ["1001", "1", "20260101", "4", "20261101", "20261130"]
    assert header[21] == "EUR"
    cash, deferred, revenue, skr = DATEV_ACCOUNTS[chart]
    assert header[26] == skr  # Sachkontenrahmen
    # The heading line names all of the format's 125 columns, unquoted, as DATEV's sample.
    heading = response.content.split(b"\r\n")[1].decode("cp1252")
    assert len(columns) == len(DATEV_COLUMNS) == 125 and '"' not in heading
    assert tuple(columns) == DATEV_COLUMNS
    assert columns[-1] == "Abw. Skontokonto" and columns[13] == "Buchungstext"
    assert all(len(r) == 125 and not any(r[14:]) for r in rows)
    assert [(r[0], r[1], r[2], r[6], r[7], r[8], r[9]) for r in rows] == [
        ("100,00", "S", "EUR", cash, deferred, "", "0211"),
        ("20,00", "S", "EUR", deferred, revenue, "", "0211"),
    ]
    assert all(len(r[10]) <= 36 and len(r[13]) <= 60 for r in rows)


async def test_datev_with_a_chart_that_is_not_datev_s_is_refused_saying_why(api: Api) -> None:
    """The generic chart's 4000 and 2400 are other accounts in SKR03 (expense, deferral):
    its DATEV file would be booked wrongly without a word."""
    await paid_history(api)
    response = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "datev"}, headers=api.admin
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["code"], problem["chart"]) == ("not_a_datev_chart", "generic")
    assert "CREDITDESK_ACCOUNT_CHART=skr03 or skr04" in problem["detail"]
    for fmt in ("xero", "quickbooks"):  # the generic chart is fine for those
        other = await api.client.get(
            "/v1/exports/journal", params={**PERIOD, "format": fmt}, headers=api.admin
        )
        assert other.status_code == 200, other.text


async def test_a_booking_late_on_the_last_day_lands_in_the_next_month_in_berlin(
    datev_api: Api,
) -> None:
    api = datev_api
    customer = await api.customer()
    api.clock.advance(datetime(2026, 11, 30, 23, 30, tzinfo=UTC) - api.clock.now())
    async with api.db.unit_of_work() as session:
        await service.grant(
            session, customer["id"], credits=1, amount=3000, currency="EUR",
            source="purchase", now=api.clock.now(), cash_account=acc.CASH_STRIPE,
        )  # fmt: skip
    api.clock.advance(timedelta(days=2))
    get = api.client.get
    november = await get("/v1/exports/journal", params={**PERIOD, "format": "xero"},
                         headers=api.admin)  # fmt: skip
    assert csv_rows(november.content)[1:] == []
    december = {"from": "2026-12-01", "to": "2027-01-01", "format": "xero"}
    rows = csv_rows((await get("/v1/exports/journal", params=december, headers=api.admin)).content)
    assert {r[1] for r in rows[1:]} == {"01/12/2026"}
    datev = await get("/v1/exports/journal", params={**december, "format": "datev"},
                      headers=api.admin)  # fmt: skip
    header, _, *booked = csv_rows(datev.content, "cp1252", ";")
    assert header[14:16] == ["20261201", "20261231"] and booked[0][9] == "0112"
    # The generic journal keeps UTC: the same sale is in November there.
    generic = await get("/v1/exports/journal", params=PERIOD, headers=api.admin)
    assert b"2026-11-30T23:30:00Z" in generic.content


async def test_xero_splits_into_a_zip_of_files_of_300_lines(api: Api) -> None:
    customer = await api.customer()
    async with api.db.unit_of_work() as session:
        for _ in range(160):  # 160 sales of 2 lines: 320 lines
            await service.grant(
                session, customer["id"], credits=1, amount=3000, currency="EUR",
                source="purchase", now=api.clock.now(), cash_account=acc.CASH_OFFLINE,
            )  # fmt: skip
    response = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "xero"}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert (
        'filename="journal_xero_2026-11-01_2026-12-01.zip"'
        in (response.headers["content-disposition"])
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert names == ["xero_2026-11-01_2026-12-01_001.csv", "xero_2026-11-01_2026-12-01_002.csv"]
    total = 0
    for name in names:
        rows = csv_rows(archive.read(name))
        assert len(rows) <= 300 and tuple(rows[0]) == XERO_COLUMNS
        assert sum(int(r[5].replace(".", "")) for r in rows[1:]) == 0
        total += len(rows) - 1
    assert total == 320


@pytest.fixture
async def mapped_api(settings: Settings, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Api]:
    """An app whose account map file maps only cash and deferred revenue."""
    path = tmp_path / "map.json"
    path.write_text(
        json.dumps(
            {
                "chart": "none",
                "accounts": {
                    "cash:stripe": {"code": "1360", "name": "Geldtransit"},
                    "deferred_revenue": {"code": "1710", "name": "Anzahlungen"},
                },
            }
        )
    )
    app = create_app(settings.model_copy(update={"account_map_file": path}), clock=clock)
    async with admin_api(app, clock) as api:
        yield api
        await assert_reconciles(app.state.db)


async def test_an_unmapped_account_is_a_422_naming_it(mapped_api: Api) -> None:
    api = mapped_api
    await paid_history(api)
    for fmt in ("xero", "quickbooks", "datev"):
        response = await api.client.get(
            "/v1/exports/journal", params={**PERIOD, "format": fmt}, headers=api.admin
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "unmapped_account"
        assert problem["accounts"] == ["revenue:support"]
        assert "revenue:support" in problem["detail"]
    only_the_sale = {"from": "2026-11-02T09:00:00Z", "to": "2026-11-02T09:30:00Z"}
    response = await api.client.get(
        "/v1/exports/journal", params={**only_the_sale, "format": "datev"}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    map_read = (await api.client.get("/v1/exports/account-map", headers=api.admin)).json()
    assert map_read["chart"] is None and set(map_read["accounts"]) == {
        "cash:stripe", "deferred_revenue"
    }  # fmt: skip


async def test_summary_is_for_the_books_formats_only(api: Api) -> None:
    response = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "summary": "daily"}, headers=api.admin
    )
    assert response.status_code == 422
    assert response.json()["field"] == "summary"
