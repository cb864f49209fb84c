"""Who may call what: 401 without a key, with an unknown one and with a revoked one; 403
for a role the contract leaves out; 404 for a customer key on another customer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from app.kit.auth import ApiKey, Role, hash_secret
from tests.conftest import Api


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # `{cus}` is the customer, `{key}` an API key id
    body: dict[str, Any] | None
    wrong_roles: tuple[Role, ...]  # roles the contract does not allow

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


CALLS = [
    Call("POST", "/v1/api-keys", {"role": "admin", "name": "x"}, tuple(set(Role) - {Role.admin})),
    Call("GET", "/v1/api-keys", None, tuple(set(Role) - {Role.admin})),
    Call("DELETE", "/v1/api-keys/{key}", None, tuple(set(Role) - {Role.admin})),
    Call(
        "POST",
        "/v1/customers",
        {"name": "N", "email": "n@acme.example"},
        (Role.engineer, Role.finance, Role.integration, Role.customer),
    ),
    Call("GET", "/v1/customers", None, (Role.customer,)),
    # Any key may read a customer it may see: staff and back office all, a customer its own.
    Call("GET", "/v1/customers/{cus}", None, ()),
    Call(
        "PATCH",
        "/v1/customers/{cus}",
        {"name": "Renamed"},
        (Role.finance, Role.integration, Role.customer),
    ),
    Call(
        "POST",
        "/v1/customers/{cus}/verify-caller",
        {"code_word": "blue falcon"},
        (Role.finance, Role.integration, Role.customer),
    ),
]
IDS = [str(c) for c in CALLS]


async def _call(api: Api, call: Call, headers: dict[str, str], cus: str, key: str) -> Any:
    path = call.path.format(cus=cus, key=key)
    return await api.client.request(call.method, path, json=call.body, headers=headers)


async def _target(api: Api) -> tuple[str, str]:
    customer = await api.customer(code_word="blue falcon")
    created = await api.client.post(
        "/v1/api-keys", json={"role": "engineer", "name": "target"}, headers=api.admin
    )
    return customer["id"], created.json()["id"]


async def key_id_of(api: Api, headers: dict[str, str]) -> str:
    secret = headers["Authorization"].removeprefix("Bearer ")
    async with api.db.unit_of_work() as session:
        found = await session.execute(
            select(ApiKey.id).where(ApiKey.secret_hash == hash_secret(secret))
        )
        return str(found.scalar_one())


def _assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


@pytest.mark.parametrize("call", CALLS, ids=IDS)
async def test_401_without_a_key_with_an_unknown_or_revoked_key(api: Api, call: Call) -> None:
    cus, key = await _target(api)
    revoked = await api.key(Role.admin)
    revoked_id = await key_id_of(api, revoked)
    assert (await api.client.delete(f"/v1/api-keys/{revoked_id}", headers=api.admin)).is_success
    for headers in (
        {},
        {"Authorization": "Bearer cdk_not-a-key-anyone-issued"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        revoked,
    ):
        response = await _call(api, call, headers, cus, key)
        _assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("call", CALLS, ids=IDS)
async def test_403_for_roles_the_contract_leaves_out(api: Api, call: Call) -> None:
    cus, key = await _target(api)
    for role in call.wrong_roles:
        headers = await api.key(role, cus if role is Role.customer else None)
        response = await _call(api, call, headers, cus, key)
        _assert_problem(response, 403, "forbidden")
    # The effect did not happen: the target key still works, the name did not change.
    customer = await api.client.get(f"/v1/customers/{cus}", headers=api.admin)
    assert customer.json()["name"] == "Acme Hosting"
    keys = await api.client.get("/v1/api-keys", headers=api.admin)
    assert all(k["revoked_at"] is None for k in keys.json()["data"])


async def test_customer_key_sees_only_its_own_customer(api: Api) -> None:
    mine = await api.customer(email="mine@acme.example")
    theirs = await api.customer(email="theirs@acme.example", code_word="blue falcon")
    key = await api.key(Role.customer, mine["id"])

    own = await api.client.get(f"/v1/customers/{mine['id']}", headers=key)
    assert own.status_code == 200
    assert own.json()["id"] == mine["id"]

    for method, body in (("GET", None), ("PATCH", {"auto_accept_transfers": True})):
        other = await api.client.request(
            method, f"/v1/customers/{theirs['id']}", json=body, headers=key
        )
        _assert_problem(other, 404, "not_found")
        assert theirs["email"] not in other.text
        missing = await api.client.request(
            method, "/v1/customers/cus_nobody", json=body, headers=key
        )
        assert missing.json() == {**other.json()}  # indistinguishable from "no such customer"

    unchanged = await api.client.get(f"/v1/customers/{theirs['id']}", headers=api.admin)
    assert unchanged.json()["auto_accept_transfers"] is False


@pytest.mark.parametrize("role", [Role.admin, Role.cr_agent, Role.engineer])
async def test_staff_get_404_for_unknown_customers(api: Api, role: Role) -> None:
    headers = await api.key(role)
    for method, path, body in (
        ("GET", "/v1/customers/cus_nobody", None),
        ("PATCH", "/v1/customers/cus_nobody", {"name": "x"}),
        ("POST", "/v1/customers/cus_nobody/verify-caller", {"code_word": "blue falcon"}),
    ):
        response = await api.client.request(method, path, json=body, headers=headers)
        _assert_problem(response, 404, "not_found")
