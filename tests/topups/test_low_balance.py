"""Low-balance alerts: `balance.low` once per downward crossing, with a mail;
`balance.depleted` at 0; the threshold set by the customer or staff."""

from __future__ import annotations

from typing import Any

from app.kit.auth import Role
from tests.conftest import Api


async def _ticket(api: Api, key: dict[str, str], n: int) -> None:
    response = await api.client.post(
        "/v1/tickets",
        json={"line": "technical", "subject": f"Mail server number {n} rejects TLS",
              "body": f"Details for case {n}."},
        headers=key,
    )  # fmt: skip
    assert response.status_code == 201, response.text


async def _events(run_sql: Any, customer_id: str) -> list[tuple[str, int]]:
    rows = await run_sql(
        "SELECT type, data FROM events WHERE customer_id = :c AND type LIKE 'balance.%' "
        "ORDER BY seq",
        c=customer_id,
    )
    out = []
    for type_, data in rows:
        if isinstance(data, str):
            import json

            data = json.loads(data)
        out.append((type_, data["object"]["available"]))
    return out


async def test_low_balance_once_per_crossing_and_depleted(api: Api, run_sql: Any) -> None:
    customer = await api.customer(low_balance_threshold=2)
    assert customer["low_balance_threshold"] == 2
    key = await api.key(Role.customer, customer["id"])
    await api.grant(customer["id"], 4)
    await _ticket(api, key, 1)  # 3
    assert await _events(run_sql, customer["id"]) == []
    await _ticket(api, key, 2)  # 2: crossed
    await _ticket(api, key, 3)  # 1: still below, no second alert
    await _ticket(api, key, 4)  # 0
    assert await _events(run_sql, customer["id"]) == [("balance.low", 2), ("balance.depleted", 0)]
    mails = await run_sql("SELECT recipient, subject FROM email_outbox WHERE kind = 'low_balance'")
    assert mails == [("ops@acme.example", "Your support balance is low: 2 credits left")]

    await api.grant(customer["id"], 5)  # back above: the next fall is a new crossing
    for n in range(5, 9):
        await _ticket(api, key, n)  # 4, 3, 2, 1
    assert [e[0] for e in await _events(run_sql, customer["id"])] == [
        "balance.low", "balance.depleted", "balance.low",
    ]  # fmt: skip


async def test_a_rolled_back_charge_leaves_no_alert(api: Api, run_sql: Any) -> None:
    customer = await api.customer(low_balance_threshold=0)
    key = await api.key(Role.customer, customer["id"])
    refused = await api.client.post(
        "/v1/tickets",
        json={"line": "technical", "subject": "Mail server rejects TLS", "body": "x"},
        headers=key,
    )
    assert refused.status_code == 402
    assert await _events(run_sql, customer["id"]) == []


async def test_threshold_default_and_who_may_set_it(api: Api) -> None:
    api.app.state.settings = api.app.state.settings.model_copy(update={"low_balance_threshold": 3})
    customer = await api.customer()
    assert customer["low_balance_threshold"] == 3
    off = await api.customer(name="Quiet", email="quiet@example.com", low_balance_threshold=None)
    assert off["low_balance_threshold"] is None
    own = await api.key(Role.customer, customer["id"])
    changed = await api.client.patch(
        f"/v1/customers/{customer['id']}", json={"low_balance_threshold": 5}, headers=own
    )
    assert changed.status_code == 200 and changed.json()["low_balance_threshold"] == 5
    cleared = await api.client.patch(
        f"/v1/customers/{customer['id']}", json={"low_balance_threshold": None}, headers=own
    )
    assert cleared.json()["low_balance_threshold"] is None
    foreign = await api.client.patch(
        f"/v1/customers/{off['id']}", json={"low_balance_threshold": 5}, headers=own
    )
    assert foreign.status_code == 404
    name = await api.client.patch(
        f"/v1/customers/{customer['id']}", json={"name": "Renamed"}, headers=own
    )
    assert name.status_code == 403
    negative = await api.client.patch(
        f"/v1/customers/{customer['id']}", json={"low_balance_threshold": -1}, headers=own
    )
    assert negative.status_code == 422
    agent = await api.client.patch(
        f"/v1/customers/{customer['id']}",
        json={"low_balance_threshold": 1},
        headers=await api.key(Role.cr_agent),
    )
    assert agent.json()["low_balance_threshold"] == 1
