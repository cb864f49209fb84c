from __future__ import annotations

from tests.conftest import Api


async def test_customer_round_trip(api: Api) -> None:
    customer = await api.customer(code_word="blue falcon")
    response = await api.client.get(f"/v1/customers/{customer['id']}", headers=api.admin)
    assert response.status_code == 200
    assert response.json()["has_code_word"] is True
    await api.grant(customer["id"], 3)
    balance = await api.client.get(f"/v1/customers/{customer['id']}/balance", headers=api.admin)
    assert balance.json()["available"] == 3
