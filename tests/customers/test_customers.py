"""Customers: create, read, list, update, and phone-caller verification."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from app.kit.auth import Role
from tests.conftest import Api


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


@pytest.mark.parametrize("role", [Role.admin, Role.cr_agent])
async def test_create_and_read_a_customer(api: Api, role: Role) -> None:
    headers = await api.key(role)
    body = {
        "name": "  Acme Hosting ",
        "email": "ops@acme.example",
        "partner": True,
        "auto_accept_transfers": True,
        "code_word": "blue falcon",
        "external_ref": "crm-42",
    }
    created = await api.client.post("/v1/customers", json=body, headers=headers)
    assert created.status_code == 201
    customer = created.json()
    assert customer["id"].startswith("cus_")
    assert customer["name"] == "Acme Hosting"
    assert customer["partner"] is True
    assert customer["auto_accept_transfers"] is True
    assert customer["external_ref"] == "crm-42"
    assert customer["has_code_word"] is True
    assert "code_word" not in customer
    assert customer["created_at"] == "2026-11-02T09:00:00Z"  # RFC 3339, UTC, from the clock
    read = await api.client.get(f"/v1/customers/{customer['id']}", headers=headers)
    assert read.status_code == 200
    assert read.json() == customer
    balance = await api.client.get(f"/v1/customers/{customer['id']}/balance", headers=headers)
    assert balance.json()["available"] == 0  # the wallet was opened with it


async def test_defaults_of_a_new_customer(api: Api) -> None:
    customer = await api.customer()
    assert customer["partner"] is False
    assert customer["auto_accept_transfers"] is False
    assert customer["has_code_word"] is False
    assert customer["external_ref"] is None
    assert customer["locale"] == "en"


async def test_a_customer_s_locale_is_set_by_staff_and_by_the_customer(api: Api) -> None:
    created = await api.client.post(
        "/v1/customers",
        json={"name": "Ромашка", "email": "it@romashka.example", "locale": "ru"},
        headers=api.admin,
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["locale"] == "ru"
    own = await api.key(Role.customer, customer["id"])
    url = f"/v1/customers/{customer['id']}"
    changed = await api.client.patch(url, json={"locale": "en"}, headers=own)
    assert changed.status_code == 200, changed.text
    assert changed.json()["locale"] == "en"
    for bad in ("de", "RU", "", None):
        refused = await api.client.patch(url, json={"locale": bad}, headers=api.admin)
        assert_problem(refused, 422, "validation_error")
    assert (await api.client.get(url, headers=api.admin)).json()["locale"] == "en"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Acme"},
        {"email": "ops@acme.example"},
        {"name": "", "email": "ops@acme.example"},
        {"name": "Acme", "email": "not an email"},
        {"name": "Acme", "email": "ops@acme.example", "partner": "maybe"},
        {"name": "Acme", "email": "ops@acme.example", "code_word": "abc"},
        {"name": "Acme", "email": "ops@acme.example", "balance": 100},
        {"name": "A" * 201, "email": "ops@acme.example"},
        {"name": "Acme", "email": "ops@acme.example", "locale": "fr"},
    ],
)
async def test_malformed_customers_are_422(api: Api, body: dict[str, Any]) -> None:
    response = await api.client.post("/v1/customers", json=body, headers=api.admin)
    assert_problem(response, 422, "validation_error")
    listed = await api.client.get("/v1/customers", headers=api.admin)
    assert listed.json()["data"] == []


async def test_external_ref_is_unique(api: Api) -> None:
    await api.customer(external_ref="crm-1")
    again = await api.client.post(
        "/v1/customers",
        json={"name": "B", "email": "b@acme.example", "external_ref": "crm-1"},
        headers=api.admin,
    )
    assert_problem(again, 409, "external_ref_taken")


async def test_list_pages_and_filters(api: Api) -> None:
    ids = [(await api.customer(email=f"c{i}@acme.example"))["id"] for i in range(5)]
    finance = await api.key(Role.finance)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await api.client.get("/v1/customers", params=params, headers=finance)
        assert page.status_code == 200
        seen += [c["id"] for c in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids)
    by_email = await api.client.get(
        "/v1/customers", params={"email": "c3@acme.example"}, headers=api.admin
    )
    assert [c["email"] for c in by_email.json()["data"]] == ["c3@acme.example"]
    for params in ({"limit": 0}, {"limit": 201}, {"cursor": "garbage!"}):
        bad = await api.client.get("/v1/customers", params=params, headers=api.admin)
        assert_problem(bad, 422, "validation_error")


async def test_staff_update_a_customer(api: Api) -> None:
    customer = await api.customer(external_ref="crm-7")
    api.clock.advance(timedelta(minutes=5))
    engineer = await api.key(Role.engineer)
    response = await api.client.patch(
        f"/v1/customers/{customer['id']}",
        json={"name": "Acme Ltd", "partner": True, "external_ref": None},
        headers=engineer,
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["name"] == "Acme Ltd"
    assert updated["partner"] is True
    assert updated["external_ref"] is None
    assert updated["email"] == customer["email"]
    assert updated["updated_at"] == "2026-11-02T09:05:00Z"
    assert updated["created_at"] == customer["created_at"]


@pytest.mark.parametrize(
    "body",
    [{"name": None}, {"email": None}, {"partner": None}, {"email": "nope"}, {"id": "cus_x"}],
)
async def test_malformed_updates_are_422(api: Api, body: dict[str, Any]) -> None:
    customer = await api.customer()
    response = await api.client.patch(
        f"/v1/customers/{customer['id']}", json=body, headers=api.admin
    )
    assert_problem(response, 422, "validation_error")
    again = await api.client.get(f"/v1/customers/{customer['id']}", headers=api.admin)
    assert again.json() == customer


async def test_customer_updates_only_auto_accept_of_its_own(api: Api) -> None:
    customer = await api.customer()
    key = await api.key(Role.customer, customer["id"])
    path = f"/v1/customers/{customer['id']}"
    ok = await api.client.patch(path, json={"auto_accept_transfers": True}, headers=key)
    assert ok.status_code == 200
    assert ok.json()["auto_accept_transfers"] is True
    for body in (
        {"name": "Mine now"},
        {"partner": True},
        {"auto_accept_transfers": False, "code_word": "new word"},
    ):
        refused = await api.client.patch(path, json=body, headers=key)
        assert_problem(refused, 403, "forbidden")
    final = await api.client.get(path, headers=key)
    assert final.json()["partner"] is False
    assert final.json()["auto_accept_transfers"] is True


async def test_code_word_is_stored_only_as_an_scrypt_hash(api: Api, run_sql: Any) -> None:
    customer = await api.customer(code_word="Blue Falcon")
    rows = await run_sql("SELECT code_word_hash FROM customers WHERE id = :id", id=customer["id"])
    stored = rows[0][0]
    assert "falcon" not in stored.lower()
    algorithm, n, r, p, salt, digest = stored.split("$")
    assert (algorithm, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
    assert len(bytes.fromhex(salt)) == 16
    assert len(bytes.fromhex(digest)) == 32
    other = await api.customer(email="x@acme.example", code_word="Blue Falcon")
    rows = await run_sql("SELECT code_word_hash FROM customers WHERE id = :id", id=other["id"])
    assert rows[0][0] != stored  # salted


async def verify(api: Api, customer_id: str, word: str, headers: dict[str, str]) -> Any:
    return await api.client.post(
        f"/v1/customers/{customer_id}/verify-caller", json={"code_word": word}, headers=headers
    )


@pytest.mark.parametrize("role", [Role.cr_agent, Role.engineer, Role.admin])
async def test_verify_caller_right_and_wrong_word(api: Api, role: Role) -> None:
    customer = await api.customer(code_word="Blue Falcon")
    headers = await api.key(role)
    right = await verify(api, customer["id"], "blue   falcon", headers)  # case and spaces
    assert right.status_code == 200
    assert right.json() == {"verified": True}
    wrong = await verify(api, customer["id"], "red falcon", headers)
    assert wrong.status_code == 200
    assert wrong.json() == {"verified": False}


async def test_verify_caller_without_a_code_word_is_never_verified(api: Api) -> None:
    customer = await api.customer()
    response = await verify(api, customer["id"], "anything", api.admin)
    assert response.json() == {"verified": False}


async def test_verify_caller_is_malformed_without_a_word(api: Api) -> None:
    customer = await api.customer(code_word="blue falcon")
    for body in ({}, {"code_word": ""}, {"code_word": 42}, {"code_word": "x" * 201}):
        response = await api.client.post(
            f"/v1/customers/{customer['id']}/verify-caller", json=body, headers=api.admin
        )
        assert_problem(response, 422, "validation_error")


async def test_verify_caller_locks_out_after_too_many_failures(api: Api, run_sql: Any) -> None:
    customer = await api.customer(code_word="blue falcon")
    other = await api.customer(email="other@acme.example", code_word="blue falcon")
    agent = await api.key(Role.cr_agent)
    attempts = api.app.state.settings.verify_max_attempts
    lockout = api.app.state.settings.verify_lockout_minutes
    for i in range(attempts - 1):
        assert (await verify(api, customer["id"], f"guess {i}", agent)).json()["verified"] is False
        rows = await run_sql(
            "SELECT verify_failures FROM customers WHERE id = :id", id=customer["id"]
        )
        assert rows[0][0] == i + 1  # committed although the answer was a 200 "no"
    last = await verify(api, customer["id"], "last guess", agent)
    assert last.json() == {"verified": False}

    locked = await verify(api, customer["id"], "blue falcon", agent)  # even the right word
    body = assert_problem(locked, 429, "rate_limited")
    assert int(locked.headers["retry-after"]) == lockout * 60 + 1
    assert body["retry_after"] == lockout * 60 + 1
    assert "verified" not in body
    # Per customer: another customer is not locked.
    assert (await verify(api, other["id"], "blue falcon", agent)).json() == {"verified": True}

    api.clock.advance(timedelta(minutes=lockout) - timedelta(seconds=1))
    still = await verify(api, customer["id"], "blue falcon", agent)
    assert_problem(still, 429, "rate_limited")
    assert still.headers["retry-after"] == "2"
    api.clock.advance(timedelta(seconds=1))
    assert (await verify(api, customer["id"], "blue falcon", agent)).json() == {"verified": True}


async def test_a_success_resets_the_failure_count(api: Api, run_sql: Any) -> None:
    customer = await api.customer(code_word="blue falcon")
    attempts = api.app.state.settings.verify_max_attempts
    for _ in range(attempts - 1):
        await verify(api, customer["id"], "wrong", api.admin)
    assert (await verify(api, customer["id"], "blue falcon", api.admin)).json()["verified"]
    rows = await run_sql("SELECT verify_failures FROM customers WHERE id = :id", id=customer["id"])
    assert rows[0][0] == 0
    for _ in range(attempts - 1):
        await verify(api, customer["id"], "wrong", api.admin)
    assert (await verify(api, customer["id"], "blue falcon", api.admin)).json()["verified"]


async def test_changing_the_code_word_clears_a_lockout(api: Api) -> None:
    customer = await api.customer(code_word="blue falcon")
    for _ in range(api.app.state.settings.verify_max_attempts):
        await verify(api, customer["id"], "wrong", api.admin)
    assert (await verify(api, customer["id"], "blue falcon", api.admin)).status_code == 429
    changed = await api.client.patch(
        f"/v1/customers/{customer['id']}", json={"code_word": "green heron"}, headers=api.admin
    )
    assert changed.status_code == 200
    assert (await verify(api, customer["id"], "green heron", api.admin)).json()["verified"]
    assert not (await verify(api, customer["id"], "blue falcon", api.admin)).json()["verified"]


async def test_concurrent_guesses_are_all_counted(api: Api) -> None:
    """The customer row is locked while a guess is checked: no lost update lets a burst of
    guesses past the limit (separate connections on PostgreSQL)."""
    customer = await api.customer(code_word="blue falcon")
    attempts = api.app.state.settings.verify_max_attempts
    answers = await asyncio.gather(
        *(verify(api, customer["id"], f"guess {i}", api.admin) for i in range(2 * attempts))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * attempts + [429] * attempts
    assert all(a.json() == {"verified": False} for a in answers if a.status_code == 200)
    assert (await verify(api, customer["id"], "blue falcon", api.admin)).status_code == 429
