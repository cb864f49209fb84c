"""The finance exports over HTTP: who may call them, bad periods, formats,
the roll-forward of a known history, and customer statements."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from app.kit.auth import Role
from billing.exports.writers import JOURNAL_COLUMNS
from credits import accounts as acc
from credits import service
from tests.conftest import Api

PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


async def paid_history(api: Api) -> str:
    """A customer who bought 5 credits for €100.00 and used one on a ticket."""
    customer = await api.customer()
    async with api.db.unit_of_work() as session:
        await service.grant(
            session, customer["id"], credits=5, amount=10000, currency="EUR",
            source="purchase", now=api.clock.now(), cash_account=acc.CASH_STRIPE,
            purchase_id="pur_1", reference="pi_1",
        )  # fmt: skip
    api.clock.advance(timedelta(hours=1))
    async with api.db.unit_of_work() as session:
        await service.charge(
            session, customer["id"], now=api.clock.now(), ticket_id="tkt_1", ticket_number=1
        )
    api.clock.advance(timedelta(hours=1))
    return str(customer["id"])


async def test_journal_csv_for_finance(api: Api) -> None:
    customer_id = await paid_history(api)
    finance = await api.key(Role.finance)
    response = await api.client.get("/v1/exports/journal", params=PERIOD, headers=finance)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="journal_2026-11-01_2026-12-01.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(",".join(JOURNAL_COLUMNS).encode() + b"\r\n")
    rows = rows_of(response.content)
    assert [(r["event"], r["account"], r["unit"], r["debit"], r["credit"]) for r in rows] == [
        ("grant:purchase", f"customer:{customer_id}:available", "CREDIT", "5", ""),
        ("grant:purchase", "credits:issued", "CREDIT", "", "5"),
        ("grant:purchase", "cash:stripe", "EUR", "100.00", ""),
        ("grant:purchase", "deferred_revenue", "EUR", "", "100.00"),
        ("charge:ticket", "credits:consumed", "CREDIT", "1", ""),
        ("charge:ticket", f"customer:{customer_id}:available", "CREDIT", "", "1"),
        ("charge:ticket", "deferred_revenue", "EUR", "20.00", ""),
        ("charge:ticket", "revenue:support", "EUR", "", "20.00"),
    ]
    assert rows[0]["posted_at"] == "2026-11-02T09:00:00Z"
    assert rows[0]["purchase_id"] == "pur_1" and rows[0]["reference"] == "pi_1"
    assert rows[4]["ticket_number"] == "1"
    assert {r["customer_id"] for r in rows} == {customer_id}
    again = await api.client.get("/v1/exports/journal", params=PERIOD, headers=api.admin)
    assert again.status_code == 200
    assert again.content == response.content


async def test_journal_jsonl_and_xlsx_carry_the_same_rows(api: Api) -> None:
    await paid_history(api)
    finance = await api.key(Role.finance)
    as_csv = rows_of(
        (await api.client.get("/v1/exports/journal", params=PERIOD, headers=finance)).content
    )
    jsonl = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "jsonl"}, headers=finance
    )
    assert jsonl.status_code == 200
    assert jsonl.headers["content-type"].startswith("application/jsonl")
    records = [json.loads(line) for line in jsonl.content.splitlines()]
    assert [list(r) for r in records] == [list(JOURNAL_COLUMNS)] * len(as_csv)
    assert records[0]["debit"] == 5 and records[2]["debit"] == "100.00"
    assert records[0]["credit"] is None
    assert [{k: "" if v is None else str(v) for k, v in r.items()} for r in records] == as_csv

    xlsx = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "xlsx"}, headers=finance
    )
    assert xlsx.status_code == 200
    assert int(xlsx.headers["content-length"]) == len(xlsx.content)
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True)["journal"]
    header, *cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == list(JOURNAL_COLUMNS)
    assert len(cells) == len(as_csv)
    assert cells[2][5] == 100 and cells[0][5] == 5 and cells[0][3].startswith("customer:")
    assert cells[0][1] == datetime(2026, 11, 2, 9, 0)  # a date cell, UTC
    again = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "xlsx"}, headers=finance
    )
    assert again.content == xlsx.content


async def test_an_empty_period_is_a_header(api: Api) -> None:
    await paid_history(api)
    response = await api.client.get(
        "/v1/exports/journal", params={"from": "2026-10-01", "to": "2026-11-01"}, headers=api.admin
    )
    assert response.status_code == 200
    assert response.content == ",".join(JOURNAL_COLUMNS).encode() + b"\r\n"
    jsonl = await api.client.get(
        "/v1/exports/journal",
        params={"from": "2026-10-01", "to": "2026-11-01", "format": "jsonl"},
        headers=api.admin,
    )
    assert jsonl.status_code == 200 and jsonl.content == b""


@pytest.mark.parametrize("path", ["/v1/exports/journal", "/v1/exports/deferred-revenue"])
async def test_only_finance_and_admin_may_export(api: Api, path: str) -> None:
    customer = await api.customer()
    for role in (Role.cr_agent, Role.engineer, Role.integration):
        response = await api.client.get(path, params=PERIOD, headers=await api.key(role))
        assert response.status_code == 403, role
        assert response.headers["content-type"] == "application/problem+json"
    own = await api.key(Role.customer, customer["id"])
    assert (await api.client.get(path, params=PERIOD, headers=own)).status_code == 403
    anonymous = await api.client.get(path, params=PERIOD)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    wrong = await api.client.get(path, params=PERIOD, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("path", ["/v1/exports/journal", "/v1/exports/deferred-revenue"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
        ({"from": "last month", "to": "2026-11-01"}, "from"),
        ({"from": "2026-11-01", "to": "2026-11-31"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({"to": "2026-11-01"}, "from"),
        ({"from": "2026-11-01"}, "to"),
    ],
)
async def test_bad_periods_are_422_problems(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    response = await api.client.get(path, params=params, headers=api.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["field"] == field


async def test_unknown_format_and_configured_limit(api: Api) -> None:
    response = await api.client.get(
        "/v1/exports/journal", params={**PERIOD, "format": "pdf"}, headers=api.admin
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    api.app.state.settings.export_max_days = 7
    too_long = await api.client.get("/v1/exports/journal", params=PERIOD, headers=api.admin)
    assert too_long.status_code == 422
    assert too_long.json()["max_days"] == 7
    week = {"from": "2026-11-01", "to": "2026-11-08"}
    assert (
        await api.client.get("/v1/exports/journal", params=week, headers=api.admin)
    ).status_code == 200


async def test_deferred_revenue_roll_forward(api: Api) -> None:
    customer_id = await paid_history(api)
    await api.grant(customer_id, 2)  # free credits: no money
    finance = await api.key(Role.finance)
    response = await api.client.get("/v1/exports/deferred-revenue", params=PERIOD, headers=finance)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["from"] == "2026-11-01T00:00:00Z" and body["to"] == "2026-12-01T00:00:00Z"
    [eur] = body["money"]
    assert eur.pop("currency") == "EUR"
    assert eur == {
        line: {"amount": amount, "currency": "EUR"}
        for line, amount in {
            "opening": 0, "sales": 10000, "free_grants": 0, "recognised": 2000, "reversed": 0,
            "breakage": 0, "refunded": 0, "adjustments": 0, "other": 0, "closing": 8000,
            "recognised_from_opening": 0, "recognised_from_sales": 2000,
        }.items()
    }  # fmt: skip
    assert body["credits"] == {
        "opening": 0, "sales": 5, "free_grants": 2, "recognised": 1, "reversed": 0,
        "breakage": 0, "refunded": 0, "adjustments": 0, "other": 0, "closing": 6,
    }  # fmt: skip
    december = await api.client.get(
        "/v1/exports/deferred-revenue",
        params={"from": "2026-12-01", "to": "2027-01-01"},
        headers=finance,
    )
    assert december.json()["money"][0]["opening"] == {"amount": 8000, "currency": "EUR"}
    assert december.json()["credits"]["opening"] == 6

    as_csv = await api.client.get(
        "/v1/exports/deferred-revenue", params={**PERIOD, "format": "csv"}, headers=finance
    )
    assert as_csv.status_code == 200
    table = {r["line"]: r for r in rows_of(as_csv.content)}
    assert table["sales"] == {
        "line": "sales",
        "currency": "EUR",
        "amount": "100.00",
        "credits": "5",
    }
    assert table["closing"]["amount"] == "80.00" and table["closing"]["credits"] == "6"


async def test_statement_csv_for_the_customer_and_staff(api: Api) -> None:
    customer_id = await paid_history(api)
    other = await api.customer(name="Other Ltd", email="x@other.example")
    path = f"/v1/customers/{customer_id}/statement.csv"
    own = await api.key(Role.customer, customer_id)
    response = await api.client.get(path, headers=own)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = rows_of(response.content)
    assert [(r["kind"], r["credits"], r["balance_after"]) for r in rows] == [
        ("grant", "5", "5"),
        ("charge", "-1", "4"),
    ]
    assert rows[0]["entry_id"].startswith("ent_") and rows[1]["ticket_number"] == "1"
    for role in (Role.finance, Role.cr_agent, Role.admin):
        staff = await api.client.get(path, headers=await api.key(role))
        assert staff.status_code == 200 and staff.content == response.content
    stranger = await api.key(Role.customer, other["id"])
    assert (await api.client.get(path, headers=stranger)).status_code == 404
    assert (await api.client.get(path, headers=await api.key(Role.integration))).status_code == 403
    missing = await api.client.get("/v1/customers/cus_missing/statement.csv", headers=api.admin)
    assert missing.status_code == 404
    later = await api.client.get(
        path, params={"from": "2026-11-02T09:30:00Z", "to": "2026-12-01"}, headers=own
    )
    assert [r["kind"] for r in rows_of(later.content)] == ["charge"]
    bad = await api.client.get(path, params={"from": "2026-11-02"}, headers=own)
    assert bad.status_code == 422
