"""The lot-aging report over HTTP: a known history by age, source and
expiry, as JSON and CSV, at a past moment."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from app.kit.auth import Role
from credits import accounts as acc
from credits import service
from tests.conftest import Api


async def test_lot_aging_of_a_known_history(api: Api) -> None:
    customer = (await api.customer())["id"]
    start = api.clock.now()

    async def buy(credits: int, amount: int, valid_days: int | None = None) -> None:
        async with api.db.unit_of_work() as session:
            await service.grant(
                session, customer, credits=credits, amount=amount, currency="EUR",
                source="purchase", now=api.clock.now(), cash_account=acc.CASH_STRIPE,
                valid_days=valid_days,
            )  # fmt: skip

    await buy(5, 10000)  # day 0, no expiry
    api.clock.advance(timedelta(days=100))
    await buy(1, 3000, valid_days=400)  # day 100, expires on day 500
    await api.grant(customer, 2)  # free, day 100
    api.clock.advance(timedelta(days=100))
    async with api.db.unit_of_work() as session:  # day 200: free credits go first
        await service.charge(session, customer, now=api.clock.now(), credits=3)
    api.clock.advance(timedelta(days=1))
    finance = await api.key(Role.finance)
    response = await api.client.get("/v1/exports/lot-aging", headers=finance)
    assert response.status_code == 200, response.text
    body = response.json()
    # Day 201: the €100.00 lot (201 days) holds 4 credits worth 80.00 after one was used
    # (the last credit of the 30.00 lot expires sooner, so it went first: 3 charged = 2
    # free + the 30.00 one).
    assert body["total"] == {"bucket": "total", "value": 10000, "credits": 5, "lots": 1}
    ages = {f["bucket"]: (f["value"], f["credits"]) for f in body["by_age"]}
    assert ages == {"0-30": (0, 0), "31-90": (0, 0), "91-180": (0, 0),
                    "181-365": (10000, 5), ">365": (0, 0)}  # fmt: skip
    assert [f["bucket"] for f in body["by_source"]] == ["purchase"]
    expiry = {f["bucket"]: f["credits"] for f in body["by_expiry"]}
    assert expiry["never"] == 5 and sum(expiry.values()) == 5

    # At day 150 the three lots still held everything.
    past = (start + timedelta(days=150)).isoformat()
    earlier = await api.client.get("/v1/exports/lot-aging", params={"at": past}, headers=finance)
    assert earlier.json()["total"] == {"bucket": "total", "value": 13000, "credits": 8, "lots": 3}
    ages = {f["bucket"]: f["credits"] for f in earlier.json()["by_age"]}
    assert ages["31-90"] == 3 and ages["91-180"] == 5
    sources = {f["bucket"]: f["credits"] for f in earlier.json()["by_source"]}
    assert sources == {"adjustment": 2, "purchase": 6}
    expiry = {f["bucket"]: f["credits"] for f in earlier.json()["by_expiry"]}
    assert expiry["91-365"] == 1 and expiry["never"] == 7  # 350 days left

    as_csv = await api.client.get(
        "/v1/exports/lot-aging", params={"at": past, "format": "csv"}, headers=finance
    )
    assert as_csv.status_code == 200
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode(), newline="")))
    total = [r for r in rows if r["dimension"] == "total"]
    assert total == [{"dimension": "total", "bucket": "total", "currency": "EUR",
                      "value": "130.00", "credits": "8", "lots": "3"}]  # fmt: skip
    denied = await api.client.get("/v1/exports/lot-aging", headers=await api.key(Role.cr_agent))
    assert denied.status_code == 403
    bad = await api.client.get("/v1/exports/lot-aging", params={"at": "soon"}, headers=finance)
    assert bad.status_code == 422 and bad.json()["field"] == "at"
