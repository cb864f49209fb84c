"""The credit endpoints of the contract, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from app.kit.auth import Role
from credits import service
from tests.conftest import Api


async def _charge(api: Api, customer_id: str, credits: int = 1) -> str:
    async with api.db.unit_of_work() as session:
        posted = await service.charge(session, customer_id, credits=credits, now=api.clock.now())
        return posted.transaction.id


async def _refund(api: Api, charge_id: str) -> None:
    async with api.db.unit_of_work() as session:
        await service.refund_charge(session, charge_id, reason="product_bug", now=api.clock.now())


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


# ---------------------------------------------------------------- packs


async def test_packs_lists_the_default_catalogue(api: Api) -> None:
    customer = await api.customer()
    key = await api.key(Role.customer, customer["id"])
    response = await api.client.get("/v1/packs", headers=key)
    assert response.status_code == 200
    assert response.json() == {
        "data": [
            {"code": "single", "credits": 1, "price": {"amount": 3000, "currency": "EUR"},
             "valid_days": None},
            {"code": "five", "credits": 5, "price": {"amount": 10000, "currency": "EUR"},
             "valid_days": None},
            {"code": "thirty", "credits": 30, "price": {"amount": 30000, "currency": "EUR"},
             "valid_days": None},
        ]
    }  # fmt: skip
    _problem(await api.client.get("/v1/packs"), 401, "unauthenticated")


# ---------------------------------------------------------------- balance


async def test_balance_shows_lots_and_spend_progress(api: Api) -> None:
    customer = await api.customer()
    cid = customer["id"]
    await api.grant(cid, 3)
    api.clock.advance(timedelta(minutes=1))
    response = await api.client.post(
        f"/v1/customers/{cid}/spend", json={"amount": 12_500, "reference": "inv-1"},  # bare cents: still accepted
        headers=api.admin,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    await _charge(api, cid)
    own = await api.key(Role.customer, cid)
    response = await api.client.get(f"/v1/customers/{cid}/balance", headers=own)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["customer_id"], body["available"], body["frozen"]) == (cid, 3, 0)
    assert [(l["source"], l["credits"], l["remaining"]) for l in body["lots"]] == [
        ("adjustment", 3, 2),  # both free and never expiring: the oldest first
        ("spend_reward", 1, 1),
    ]
    assert body["lots"][0]["unit_value"] == {"amount": 0, "currency": "EUR"}
    assert body["spend"] == {
        "total": {"amount": 12_500, "currency": "EUR"},
        "rewarded_credits": 1,
        "next_reward_at": {"amount": 20_000, "currency": "EUR"},
    }


@pytest.mark.parametrize("role", [Role.admin, Role.cr_agent, Role.engineer, Role.finance])
async def test_staff_read_any_balance(api: Api, role: Role) -> None:
    cid = (await api.customer())["id"]
    response = await api.client.get(f"/v1/customers/{cid}/balance", headers=await api.key(role))
    assert response.status_code == 200
    assert response.json()["available"] == 0


async def test_balance_and_entries_refuse_strangers(api: Api) -> None:
    cid = (await api.customer())["id"]
    other = (await api.customer(name="Other"))["id"]
    await api.grant(other, 2)
    key = await api.key(Role.customer, cid)
    for path in ("balance", "entries"):
        _problem(
            await api.client.get(f"/v1/customers/{other}/{path}", headers=key), 404, "not_found"
        )
        _problem(await api.client.get(f"/v1/customers/{cid}/{path}"), 401, "unauthenticated")
        bad = {"Authorization": "Bearer cdk_not_a_key"}
        _problem(
            await api.client.get(f"/v1/customers/{cid}/{path}", headers=bad), 401, "unauthenticated"
        )
        missing = await api.client.get(f"/v1/customers/cus_missing/{path}", headers=api.admin)
        _problem(missing, 404, "not_found")


# ---------------------------------------------------------------- entries


async def test_entries_are_a_paged_statement_newest_first(api: Api) -> None:
    cid = (await api.customer())["id"]
    await api.grant(cid, 5)
    first = await _charge(api, cid)
    await _charge(api, cid, 2)
    await _refund(api, first)
    response = await api.client.post(
        f"/v1/customers/{cid}/adjustments", json={"credits": -1, "reason": "duplicate grant"},
        headers=api.admin,
    )  # fmt: skip
    assert response.status_code == 201
    own = await api.key(Role.customer, cid)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(f"/v1/customers/{cid}/entries", params=params, headers=own)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) <= 2
        seen += page["data"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [(e["kind"], e["credits"], e["balance_after"]) for e in seen] == [
        ("adjustment", -1, 2),
        ("refund", 1, 3),
        ("charge", -2, 2),
        ("charge", -1, 4),
        ("adjustment", 5, 5),
    ]
    assert seen[0]["memo"] == "duplicate grant"
    assert seen[1]["reason"] == "product_bug"
    assert len({e["id"] for e in seen}) == 5
    assert all(e["id"].startswith("ent_") for e in seen)
    # every entry moves the balance from the one before it
    for newer, older in pairwise(seen):
        assert newer["balance_after"] - newer["credits"] == older["balance_after"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "not-a-cursor"}])
async def test_entries_refuse_malformed_paging(api: Api, params: dict[str, Any]) -> None:
    cid = (await api.customer())["id"]
    response = await api.client.get(
        f"/v1/customers/{cid}/entries", params=params, headers=api.admin
    )
    _problem(response, 422, "validation_error")


# ---------------------------------------------------------------- spend


async def test_spend_rewards_over_http(api: Api) -> None:
    cid = (await api.customer())["id"]
    integration = await api.key(Role.integration)
    url = f"/v1/customers/{cid}/spend"

    async def spend(amount: int, reference: str) -> dict[str, Any]:
        money = {"amount": amount, "currency": "EUR"}
        response = await api.client.post(
            url, json={"amount": money, "reference": reference}, headers=integration
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    assert await spend(25_000, "inv-1") == {
        "total": {"amount": 25_000, "currency": "EUR"},
        "rewarded_credits": 2,
        "credits_granted": 2,
    }
    assert await spend(-10_000, "ref-1") == {
        "total": {"amount": 15_000, "currency": "EUR"},
        "rewarded_credits": 2,
        "credits_granted": 0,
    }
    assert await spend(25_000, "inv-1") == {
        "total": {"amount": 15_000, "currency": "EUR"},
        "rewarded_credits": 2,
        "credits_granted": 0,
    }
    assert await spend(15_000, "inv-2") == {
        "total": {"amount": 30_000, "currency": "EUR"},
        "rewarded_credits": 3,
        "credits_granted": 1,
    }
    balance = await api.client.get(f"/v1/customers/{cid}/balance", headers=api.admin)
    assert balance.json()["available"] == 3


async def test_spend_refusals(api: Api) -> None:
    cid = (await api.customer())["id"]
    url = f"/v1/customers/{cid}/spend"
    body = {"amount": 10_000, "reference": "inv-1"}
    for role in (Role.engineer, Role.finance, Role.cr_agent):
        _problem(
            await api.client.post(url, json=body, headers=await api.key(role)), 403, "forbidden"
        )
    own = await api.key(Role.customer, cid)
    _problem(await api.client.post(url, json=body, headers=own), 403, "forbidden")
    _problem(await api.client.post(url, json=body), 401, "unauthenticated")
    missing = await api.client.post("/v1/customers/cus_missing/spend", json=body, headers=api.admin)
    _problem(missing, 404, "not_found")
    for bad in (
        {"amount": 10_000},
        {"amount": "lots", "reference": "x"},
        {"amount": 1.5, "reference": "x"},
        {"amount": 1, "reference": ""},
        {"amount": 1, "reference": "x", "extra": True},
        {"amount": 10**13, "reference": "x"},
        {"amount": {"amount": 1}, "reference": "x", "currency": "EUR"},
        {"amount": {"amount": 1, "currency": "eur"}, "reference": "x"},
        {"amount": {"amount": 1.5, "currency": "EUR"}, "reference": "x"},
    ):
        _problem(await api.client.post(url, json=bad, headers=api.admin), 422, "validation_error")
    usd = {"amount": {"amount": 10_000, "currency": "USD"}, "reference": "x"}
    _problem(await api.client.post(url, json=usd, headers=api.admin), 422, "currency_mismatch")
    balance = await api.client.get(f"/v1/customers/{cid}/balance", headers=api.admin)
    assert balance.json()["spend"]["total"]["amount"] == 0


# ---------------------------------------------------------------- adjustments


async def test_adjustments_over_http(api: Api) -> None:
    cid = (await api.customer())["id"]
    url = f"/v1/customers/{cid}/adjustments"
    response = await api.client.post(
        url, json={"credits": 4, "reason": "  goodwill  ", "valid_days": 30}, headers=api.admin
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    assert (entry["kind"], entry["credits"], entry["balance_after"]) == ("adjustment", 4, 4)
    assert entry["memo"] == "goodwill"
    assert entry["lot_id"].startswith("lot_")
    too_much = await api.client.post(url, json={"credits": -5, "reason": "oops"}, headers=api.admin)
    problem = _problem(too_much, 402, "insufficient_credits")
    assert (problem["available"], problem["required"]) == (4, 5)
    response = await api.client.post(url, json={"credits": -4, "reason": "oops"}, headers=api.admin)
    assert response.status_code == 201
    assert response.json()["balance_after"] == 0


async def test_adjustment_refusals(api: Api) -> None:
    cid = (await api.customer())["id"]
    url = f"/v1/customers/{cid}/adjustments"
    body = {"credits": 1, "reason": "goodwill"}
    for role in (Role.finance, Role.integration, Role.cr_agent, Role.engineer):
        _problem(
            await api.client.post(url, json=body, headers=await api.key(role)), 403, "forbidden"
        )
    own = await api.key(Role.customer, cid)
    _problem(await api.client.post(url, json=body, headers=own), 403, "forbidden")
    missing = await api.client.post(
        "/v1/customers/cus_missing/adjustments", json=body, headers=api.admin
    )
    _problem(missing, 404, "not_found")
    for bad in (
        {"credits": 1},
        {"credits": 1, "reason": "  "},
        {"credits": 0, "reason": "nothing"},
        {"credits": "x", "reason": "goodwill"},
        {"credits": 1, "reason": "goodwill", "valid_days": 0},
        {"credits": 1_000_000, "reason": "goodwill"},
    ):
        _problem(await api.client.post(url, json=bad, headers=api.admin), 422, "validation_error")
    balance = await api.client.get(f"/v1/customers/{cid}/balance", headers=api.admin)
    assert balance.json()["available"] == 0
