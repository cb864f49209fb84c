"""Helpers for desk tests: a customer with its own key, submissions, balances."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.kit.auth import Role
from tests.conftest import Api

_counter = itertools.count(1)


@dataclass
class Person:
    """A customer and the key bound to it."""

    id: str
    headers: dict[str, str]


class Desk:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.client = api.client
        self._staff: dict[str, dict[str, str]] = {}

    async def staff(self, role: str) -> dict[str, str]:
        if role == "admin":
            return self.api.admin
        if role not in self._staff:
            self._staff[role] = await self._warm(await self.api.key(Role(role)))
        return self._staff[role]

    async def _warm(self, headers: dict[str, str]) -> dict[str, str]:
        """Uses a new key once. Its first use records `last_used_at`, which locks the key's
        row; without this, concurrent first requests would queue on that lock and a race
        test would test nothing."""
        response = await self.client.get("/v1/packs", headers=headers)
        assert response.status_code == 200, response.text
        return headers

    async def person(self, credits: int = 0, **fields: Any) -> Person:
        customer = await self.api.customer(**fields)
        if credits:
            await self.api.grant(customer["id"], credits)
        headers = await self._warm(await self.api.key(Role.customer, customer["id"]))
        return Person(customer["id"], headers)

    async def submit(
        self,
        who: Person,
        line: str = "technical",
        *,
        subject: str | None = None,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        n = next(_counter)
        payload = {
            "line": line,
            "subject": subject or f"Installer fails on step {n}",
            "body": body or f"The installer stops with error E{n} on Debian 12.",
            **extra,
        }
        return await self.client.post("/v1/tickets", json=payload, headers=headers or who.headers)

    async def ticket(self, who: Person, line: str = "technical", **extra: Any) -> dict[str, Any]:
        response = await self.submit(who, line, **extra)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def post(
        self, path: str, headers: dict[str, str], json: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.client.post(path, json=json or {}, headers=headers)

    async def get_ticket(self, ticket_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/tickets/{ticket_id}", headers=self.api.admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def available(self, customer_id: str) -> int:
        response = await self.client.get(
            f"/v1/customers/{customer_id}/balance", headers=self.api.admin
        )
        assert response.status_code == 200, response.text
        return int(response.json()["available"])

    async def entries(self, customer_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/customers/{customer_id}/entries?limit=200", headers=self.api.admin
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def refunds(self, customer_id: str) -> list[dict[str, Any]]:
        return [e for e in await self.entries(customer_id) if e["kind"] == "refund"]


@pytest.fixture
async def desk(api: Api) -> Desk:
    return Desk(api)
