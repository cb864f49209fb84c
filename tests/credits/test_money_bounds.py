"""Money is strict and bounded, and spend cannot overflow a wallet or drive the total
below zero (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import Settings
from tests.conftest import Api


@pytest.fixture
def settings(database_url: str) -> Settings:
    """1 free credit per euro, so a few large spends reach the wallet's credit limit."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=database_url, database_pool_size=20,
        periodic_tasks_enabled=False, log_json=False, reward_threshold_cents=100,
    )  # fmt: skip


async def spend(api: Api, cid: str, amount: Any, reference: str) -> Any:
    return await api.client.post(
        f"/v1/customers/{cid}/spend", json={"amount": amount, "reference": reference},
        headers=api.admin,
    )  # fmt: skip


@pytest.mark.parametrize(
    "amount",
    ["100.00", "100", 100.0, 1.5, True, None, {"amount": "100", "currency": "EUR"},
     {"amount": 100.5, "currency": "EUR"}, {"amount": 100, "currency": "eur"},
     10**20, -(10**20), {"amount": 10**20, "currency": "EUR"}],
)  # fmt: skip
async def test_money_that_is_not_a_bounded_integer_is_refused(api: Api, amount: Any) -> None:
    cid = (await api.customer())["id"]
    response = await spend(api, cid, amount, "inv-strict")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_money_as_an_object_or_an_integer_is_taken(api: Api) -> None:
    cid = (await api.customer())["id"]
    first = await spend(api, cid, {"amount": 12_500, "currency": "EUR"}, "inv-1")
    assert first.status_code == 201, first.text
    assert (await spend(api, cid, 100, "inv-2")).json()["total"]["amount"] == 12_600
    other = await spend(api, cid, {"amount": 100, "currency": "USD"}, "inv-3")
    assert other.status_code == 422 and "currency" in other.text


async def test_spend_cannot_overflow_the_wallet(api: Api) -> None:
    cid = (await api.customer())["id"]
    answers = [await spend(api, cid, 10**10, f"big-{n}") for n in range(12)]
    statuses = {r.status_code for r in answers}
    assert statuses <= {201, 422}, [r.text for r in answers if r.status_code not in (201, 422)]
    refused = [r.json() for r in answers if r.status_code == 422]
    assert refused and refused[0]["code"] in ("spend_limit", "credit_limit")
    balance = (await api.client.get(f"/v1/customers/{cid}/balance", headers=api.admin)).json()
    assert 0 < balance["available"] <= 1_000_000_000


async def test_a_refund_cannot_drive_the_total_below_zero(api: Api) -> None:
    cid = (await api.customer())["id"]
    assert (await spend(api, cid, 5_000, "inv-1")).status_code == 201
    too_much = await spend(api, cid, -5_001, "refund-1")
    assert too_much.status_code == 409, too_much.text
    assert too_much.json()["code"] == "spend_below_zero"
    exact = await spend(api, cid, -5_000, "refund-2")
    assert exact.status_code == 201 and exact.json()["total"]["amount"] == 0
