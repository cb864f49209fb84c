"""The offline provider: no Stripe key, purchases are paid at once through the same grant,
and every answer says so."""

from __future__ import annotations

from typing import Any

import pytest

from app.kit.auth import Role
from app.settings import DEFAULT_PACKS, PackSpec, Settings
from tests.billing.conftest import balance, customer_with_key
from tests.conftest import Api


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=database_url,
        database_pool_size=20,
        periodic_tasks_enabled=False,
        log_json=False,
        packs=[
            *DEFAULT_PACKS[:2],
            PackSpec(code="thirty", credits=30, price=30000, valid_days=365),
        ],
    )


async def test_offline_purchase_is_paid_at_once(api: Api, run_sql: Any) -> None:
    customer_id, key = await customer_with_key(api)
    response = await api.client.post(
        f"/v1/customers/{customer_id}/purchases", json={"pack": "thirty"}, headers=key
    )
    assert response.status_code == 201, response.text
    purchase = response.json()
    assert purchase["provider"] == "offline"
    assert purchase["status"] == "succeeded"
    assert purchase["client_secret"] is None and purchase["payment_intent_id"] is None
    assert purchase["amount"] == {"amount": 30000, "currency": "EUR"}
    assert purchase["id"].startswith("pur_")
    wallet = await balance(api, customer_id)
    assert wallet["available"] == 30
    [lot] = wallet["lots"]
    assert lot["source"] == "purchase" and purchase["valid_days"] == 365
    assert lot["expires_at"] == "2027-11-02T09:00:00Z"  # the pack's validity, from the clock
    lines = await run_sql(
        "SELECT account, amount FROM journal_lines WHERE unit = 'EUR' ORDER BY account"
    )
    assert [tuple(r) for r in lines] == [("cash:offline", 30000), ("deferred_revenue", -30000)]
    read = await api.client.get(f"/v1/purchases/{purchase['id']}", headers=key)
    assert read.status_code == 200 and read.json()["provider"] == "offline"


async def test_idempotency_key_replays_the_purchase(api: Api, run_sql: Any) -> None:
    customer_id, key = await customer_with_key(api)
    url = f"/v1/customers/{customer_id}/purchases"
    headers = {**key, "Idempotency-Key": "buy-1"}
    first = await api.client.post(url, json={"pack": "five"}, headers=headers)
    again = await api.client.post(url, json={"pack": "five"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = await api.client.post(url, json={"pack": "single"}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Another principal's same key is another request.
    admin = await api.client.post(url, json={"pack": "single"},
                                  headers={**api.admin, "Idempotency-Key": "buy-1"})  # fmt: skip
    assert admin.status_code == 201 and admin.json()["id"] != first.json()["id"]
    assert (await balance(api, customer_id))["available"] == 6
    rows = await run_sql("SELECT count(*) FROM purchases")
    assert rows[0][0] == 2


async def test_a_purchase_key_shares_the_callers_key_space(api: Api) -> None:
    """One idempotency mechanism: a key used for a purchase is that caller's key for every
    POST, so reusing it elsewhere is a reuse (before, purchases kept their own keys)."""
    customer_id, key = await customer_with_key(api)
    headers = {**key, "Idempotency-Key": "shared-1"}
    bought = await api.client.post(
        f"/v1/customers/{customer_id}/purchases", json={"pack": "single"}, headers=headers
    )
    assert bought.status_code == 201
    elsewhere = await api.client.post("/v1/tickets", json={"subject": "x"}, headers=headers)
    assert elsewhere.status_code == 422
    assert elsewhere.json()["code"] == "idempotency_key_reused"


async def test_who_may_buy_and_read(api: Api) -> None:
    customer_id, key = await customer_with_key(api)
    stranger_id, stranger = await customer_with_key(api, name="Other", email="o@example.com")
    url = f"/v1/customers/{customer_id}/purchases"
    assert (await api.client.post(url, json={"pack": "five"})).status_code == 401
    assert (await api.client.post(url, json={"pack": "five"}, headers=stranger)).status_code == 404
    agent = await api.key(Role.cr_agent)
    denied = await api.client.post(url, json={"pack": "five"}, headers=agent)
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    unknown_pack = await api.client.post(url, json={"pack": "gold"}, headers=key)
    assert unknown_pack.status_code == 422
    malformed = await api.client.post(url, json={"pack": "five", "extra": 1}, headers=key)
    assert malformed.status_code == 422
    nobody = await api.client.post(
        "/v1/customers/cus_nobody/purchases", json={"pack": "five"}, headers=api.admin
    )
    assert nobody.status_code == 404
    made = await api.client.post(url, json={"pack": "five"}, headers=api.admin)
    assert made.status_code == 201
    purchase_url = f"/v1/purchases/{made.json()['id']}"
    assert (await api.client.get(purchase_url, headers=stranger)).status_code == 404
    assert (await api.client.get(purchase_url, headers=key)).status_code == 200
    for role in (Role.finance, Role.integration, Role.engineer):
        assert (await api.client.get(purchase_url, headers=await api.key(role))).status_code == 200
    assert (await api.client.get("/v1/purchases/pur_none", headers=api.admin)).status_code == 404
    assert (await balance(api, stranger_id))["available"] == 0


async def test_webhooks_without_a_secret_are_refused(api: Api, run_sql: Any) -> None:
    response = await api.client.post(
        "/v1/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_signature"
    assert (await run_sql("SELECT count(*) FROM payment_events"))[0][0] == 0


def test_production_refuses_the_offline_provider() -> None:
    with pytest.raises(ValueError, match="offline payment provider is refused"):
        Settings(_env_file=None, env="production")  # type: ignore[call-arg]
    live = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="production",
        stripe_secret_key="sk_live_example_0123456789",
        stripe_webhook_secret="whsec_live_example_0123456789",
    )
    assert live.payment_provider == "stripe"
