"""Helpers for service-level tests: the desk helpers plus the clock and the sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from app.desk.sla_sweep import SweepResult, sweep
from app.settings import Settings
from tests.conftest import Api
from tests.desk.conftest import Desk


class Sla(Desk):
    def __init__(self, api: Api, settings: Settings) -> None:
        super().__init__(api)
        self.settings = settings

    @property
    def now(self) -> datetime:
        return self.api.clock.now()

    def advance(self, **delta: float) -> None:
        self.api.clock.advance(timedelta(**delta))

    async def sla(self, ticket_id: str) -> dict[str, Any]:
        block: dict[str, Any] = (await self.get_ticket(ticket_id))["sla"]
        return block

    async def sweep(self, *, compensation: bool = False) -> SweepResult:
        settings = self.settings.model_copy(update={"sla_compensation_enabled": compensation})
        return await sweep(self.api.db, self.now, settings)

    async def history(self, ticket_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/tickets/{ticket_id}/sla/history", headers=self.api.admin
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def status(self, ticket_id: str, status: str, role: str = "engineer") -> None:
        response = await self.post(
            f"/v1/tickets/{ticket_id}/status", await self.staff(role), {"status": status}
        )
        assert response.status_code == 200, response.text

    async def message(
        self, ticket_id: str, headers: dict[str, str], *, internal: bool = False
    ) -> None:
        response = await self.post(
            f"/v1/tickets/{ticket_id}/messages", headers, {"body": "Noted.", "internal": internal}
        )
        assert response.status_code == 201, response.text


@pytest.fixture
async def sla(api: Api, settings: Settings) -> Sla:
    return Sla(api, settings)
