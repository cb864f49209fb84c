"""`Idempotency-Key` on POST, exactly as api.md says: replay, reuse, in-flight, scope,
failed requests, and one effect under concurrency."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select

from app.customers.models import Customer
from app.kit import idempotency
from app.kit.auth import ApiKey, Role
from app.kit.idempotency import IdempotencyRecord
from tests.conftest import Api, _asyncpg_dsn
from tests.waiting import DEADLINE

CUSTOMER = {"name": "Idem Hosting", "email": "idem@acme.example"}


async def count_customers(api: Api, email: str) -> int:
    async with api.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).where(Customer.email == email)) or 0)


def idem(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_replay_returns_the_first_answer_without_a_second_effect(api: Api) -> None:
    first = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, "k-1"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    api.clock.advance(timedelta(hours=1))
    again = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, "k-1"))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await count_customers(api, CUSTOMER["email"]) == 1


async def test_same_json_with_other_whitespace_and_key_order_replays(api: Api) -> None:
    first = await api.client.post(
        "/v1/customers",
        content=b'{"name": "Idem Hosting", "email": "idem@acme.example"}',
        headers={**idem(api.admin, "k-ws"), "content-type": "application/json"},
    )
    again = await api.client.post(
        "/v1/customers",
        content=b'{"email":"idem@acme.example",\n"name":"Idem Hosting"}',
        headers={**idem(api.admin, "k-ws"), "content-type": "application/json"},
    )
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()


async def test_reuse_with_another_body_is_422_and_changes_nothing(api: Api) -> None:
    first = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, "k-2"))
    assert first.status_code == 201
    other = {**CUSTOMER, "email": "other@acme.example"}
    reused = await api.client.post("/v1/customers", json=other, headers=idem(api.admin, "k-2"))
    assert reused.status_code == 422
    assert reused.headers["content-type"].startswith("application/problem+json")
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await count_customers(api, "other@acme.example") == 0


async def test_reuse_on_another_path_is_422(api: Api) -> None:
    customer = await api.customer(code_word="blue falcon")
    body = {"code_word": "blue falcon"}
    path = f"/v1/customers/{customer['id']}/verify-caller"
    assert (await api.client.post(path, json=body, headers=idem(api.admin, "k-p"))).is_success
    elsewhere = await api.client.post(
        "/v1/api-keys", json={"role": "admin", "name": "x"}, headers=idem(api.admin, "k-p")
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["code"] == "idempotency_key_reused"


async def test_a_failed_request_does_not_consume_its_key(api: Api) -> None:
    bad = await api.client.post(
        "/v1/customers", json={"name": "no email"}, headers=idem(api.admin, "k-3")
    )
    assert bad.status_code == 422
    missing = await api.client.post(
        "/v1/api-keys",
        json={"role": "customer", "name": "c", "customer_id": "cus_nobody"},
        headers=idem(api.admin, "k-4"),
    )
    assert missing.status_code == 404
    async with api.db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0

    good = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, "k-3"))
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers
    assert await count_customers(api, CUSTOMER["email"]) == 1


async def test_keys_are_per_caller(api: Api) -> None:
    other_admin = await api.key(Role.admin)
    first = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, "k-5"))
    second = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(other_admin, "k-5"))
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert await count_customers(api, CUSTOMER["email"]) == 2


async def test_a_revoked_key_gets_401_not_a_replay(api: Api) -> None:
    cr_agent = await api.key(Role.cr_agent)
    first = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(cr_agent, "k-6"))
    assert first.status_code == 201
    async with api.db.unit_of_work() as session:
        key_id = (
            await session.execute(select(ApiKey.id).where(ApiKey.role == Role.cr_agent.value))
        ).scalar_one()
    assert (await api.client.delete(f"/v1/api-keys/{key_id}", headers=api.admin)).status_code == 200
    for body in (CUSTOMER, {**CUSTOMER, "name": "changed"}):
        replay = await api.client.post("/v1/customers", json=body, headers=idem(cr_agent, "k-6"))
        assert replay.status_code == 401
        assert replay.json()["code"] == "unauthenticated"
        assert CUSTOMER["email"] not in replay.text


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
async def test_malformed_keys_are_422(api: Api, key: str) -> None:
    response = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, key))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert await count_customers(api, CUSTOMER["email"]) == 0


async def test_longest_key_is_accepted(api: Api) -> None:
    key = "x" * 255
    first = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, key))
    again = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, key))
    assert first.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


async def test_expired_keys_are_forgotten(api: Api) -> None:
    first = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, "k-7"))
    retention = api.app.state.settings.idempotency_retention_hours
    api.clock.advance(timedelta(hours=retention, seconds=1))
    later = await api.client.post("/v1/customers", json=CUSTOMER, headers=idem(api.admin, "k-7"))
    assert later.status_code == 201
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]


async def _wait_for_waiters(dsn: str, expected: int) -> None:
    """Polls pg_locks until `expected` lock requests are queued (a condition, not a nap)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting >= expected:
                return
            assert time.monotonic() < deadline, f"only {waiting} of {expected} requests queued"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def _post_all(api: Api, n: int, key: str) -> list[httpx.Response]:
    headers = idem(api.admin, key)
    return list(
        await asyncio.gather(
            *(api.client.post("/v1/customers", json=CUSTOMER, headers=headers) for _ in range(n))
        )
    )


def _assert_one_effect_all_equal(responses: list[httpx.Response]) -> None:
    assert [r.status_code for r in responses] == [201] * len(responses), [
        r.text for r in responses if r.status_code != 201
    ]
    bodies: list[Any] = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == len(responses) - 1


async def test_concurrent_requests_with_one_key_make_one_customer(
    api: Api, database_url: str
) -> None:
    dsn = _asyncpg_dsn(database_url)
    blocker = await asyncpg.connect(dsn)
    try:
        # Hold every insert into customers back, so the first request stays in flight
        # while the 19 others arrive on their own connections and queue behind its key.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE customers IN EXCLUSIVE MODE")
        posts = asyncio.ensure_future(_post_all(api, 20, "k-race"))
        await _wait_for_waiters(dsn, 20)  # 1 on the table lock, 19 on the first one's key
        await tx.rollback()
        responses = await posts
    finally:
        await blocker.close()
    _assert_one_effect_all_equal(responses)
    assert await count_customers(api, CUSTOMER["email"]) == 1


async def test_api_key_secret_is_never_stored_for_replay(api: Api) -> None:
    body = {"role": "finance", "name": "books"}
    first = await api.client.post("/v1/api-keys", json=body, headers=idem(api.admin, "k-key"))
    assert first.status_code == 201
    secret = first.json()["key"]
    assert secret.startswith("cdk_")
    async with api.db.unit_of_work() as session:
        stored = (await session.execute(select(IdempotencyRecord.response_body))).scalar_one()
    assert stored is not None
    assert secret not in stored
    assert first.json()["id"] in stored

    again = await api.client.post("/v1/api-keys", json=body, headers=idem(api.admin, "k-key"))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == {**first.json(), "key": None}
    async with api.db.unit_of_work() as session:
        count = await session.scalar(select(func.count()).where(ApiKey.name == "books"))
    assert count == 1
    works = await api.client.get("/v1/customers", headers={"Authorization": f"Bearer {secret}"})
    assert works.status_code == 200


async def test_a_duplicate_of_a_request_still_in_flight_gets_409_in_progress(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT", "300ms")
    dsn = _asyncpg_dsn(database_url)
    blocker = await asyncpg.connect(dsn)
    try:
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE customers IN EXCLUSIVE MODE")
        headers = idem(api.admin, "k-flight")
        first = asyncio.ensure_future(
            api.client.post("/v1/customers", json=CUSTOMER, headers=headers)
        )
        await _wait_for_waiters(dsn, 1)  # the first holds its key, waiting on the table
        duplicate = await api.client.post("/v1/customers", json=CUSTOMER, headers=headers)
        await tx.rollback()
        original = await first
    finally:
        await blocker.close()
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    assert duplicate.json()["code"] == "idempotency_in_progress"
    assert original.status_code == 201
    later = await api.client.post("/v1/customers", json=CUSTOMER, headers=headers)
    assert later.headers["idempotent-replayed"] == "true"
    assert later.json() == original.json()
    assert await count_customers(api, CUSTOMER["email"]) == 1
