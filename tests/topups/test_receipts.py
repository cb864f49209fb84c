"""Receipts: numbered gap-free per year in the purchase's success transaction, with
net / VAT / gross, mailed once, and downloadable as PDF (Cyrillic names included)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from app.kit.auth import Role
from app.topups.receipts import mail_receipts
from billing.receipts import split_vat
from tests.conftest import Api


async def _buy(api: Api, customer_id: str, key: dict[str, str], pack: str = "five") -> Any:
    response = await api.client.post(
        f"/v1/customers/{customer_id}/purchases", json={"pack": pack}, headers=key
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_vat_split_rounds_half_up_and_adds_up() -> None:
    assert split_vat(10_000, Decimal("0.19")) == (8403, 1597)
    assert split_vat(3000, Decimal("0.2")) == (2500, 500)
    assert split_vat(10_000, Decimal(0)) == (10_000, 0)
    for gross in range(0, 2000, 7):
        net, vat = split_vat(gross, Decimal("0.21"))
        assert net + vat == gross and vat >= 0


async def test_receipt_pdf_with_vat_and_cyrillic_buyer(api: Api, run_sql: Any) -> None:
    api.app.state.settings = api.app.state.settings.model_copy(
        update={"vat_rate": Decimal("0.19"), "receipt_seller_name": "ООО «Кредитдеск»",
                "receipt_seller_address": "Berlin, Germany", "receipt_seller_tax_id": "DE123"}
    )  # fmt: skip
    customer = await api.customer(name="Ромашка Хостинг", email="it@romashka.example")
    own = await api.key(Role.customer, customer["id"])
    purchase = await _buy(api, customer["id"], own)
    assert purchase["status"] == "succeeded"
    assert purchase["receipt_number"] == "2026-000001"
    rows = await run_sql("SELECT number, gross, net, vat, vat_rate, buyer_name FROM receipts")
    assert rows == [("2026-000001", 10000, 8403, 1597, "0.19", "Ромашка Хостинг")]

    pdf = await api.client.get(f"/v1/purchases/{purchase['id']}/receipt.pdf", headers=own)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert b"DejaVu" in pdf.content and b"/FontFile2" in pdf.content  # the TTF is embedded

    other = await api.customer(name="Other", email="o@example.com")
    foreign = await api.client.get(
        f"/v1/purchases/{purchase['id']}/receipt.pdf",
        headers=await api.key(Role.customer, other["id"]),
    )
    assert foreign.status_code == 404
    staff = await api.client.get(
        f"/v1/purchases/{purchase['id']}/receipt.pdf", headers=await api.key(Role.finance)
    )
    assert staff.status_code == 200
    missing = await api.client.get("/v1/purchases/pur_nope/receipt.pdf", headers=api.admin)
    assert missing.status_code == 404

    assert await mail_receipts(api.db, api.app.state.settings, api.clock.now()) == 1
    assert await mail_receipts(api.db, api.app.state.settings, api.clock.now()) == 0
    mails = await run_sql("SELECT recipient, subject FROM email_outbox WHERE kind = 'receipt'")
    assert mails == [("it@romashka.example", "Your receipt 2026-000001")]


async def test_numbers_restart_each_year(api: Api) -> None:
    from datetime import timedelta

    customer = await api.customer()
    own = await api.key(Role.customer, customer["id"])
    assert (await _buy(api, customer["id"], own))["receipt_number"] == "2026-000001"
    assert (await _buy(api, customer["id"], own))["receipt_number"] == "2026-000002"
    api.clock.advance(timedelta(days=60))
    assert (await _buy(api, customer["id"], own))["receipt_number"] == "2027-000001"


@pytest.mark.slow
async def test_fifty_concurrent_purchases_number_without_gaps(api: Api, run_sql: Any) -> None:
    customers = [await api.customer(name=f"Shop {i}", email=f"s{i}@example.com") for i in range(5)]
    keys = [await api.key(Role.customer, c["id"]) for c in customers]
    bought = await asyncio.gather(
        *(_buy(api, customers[i % 5]["id"], keys[i % 5], "single") for i in range(50))
    )
    numbers = sorted(p["receipt_number"] for p in bought)
    assert numbers == [f"2026-{n:06d}" for n in range(1, 51)]
    assert await run_sql("SELECT year, last FROM receipt_counters") == [(2026, 50)]
