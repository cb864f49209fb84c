"""`GET /v1/reports/usage`: random desk histories (technical and free-line tickets, partner
tickets, refunds by each reason) through the HTTP API; the report's totals
equal the journal's own sums for the period, and its rows add up to its totals."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import START, Api

OPS = st.lists(
    st.sampled_from(
        ["technical", "partner", "free_line", "out_of_scope", "misrouted", "product_bug",
         "merged", "empty"]
    ),
    min_size=1,
    max_size=12,
)  # fmt: skip

SUBMISSIONS = itertools.count(1)
JOURNAL_SQL = """
SELECT t.kind, t.reason, coalesce(sum(l.amount), 0) FROM journal_lines l
JOIN journal_transactions t ON t.seq = l.transaction_seq
WHERE l.account = 'credits:consumed' AND l.unit = 'CREDIT'
  AND t.posted_at >= :start AND t.posted_at < :end
GROUP BY t.kind, t.reason
"""


def rfc(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


class History:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.tickets: list[str] = []
        self.created = 0  # submissions answered 201 (a 4th technical one may get 402)

    async def person(self, **fields: Any) -> dict[str, str]:
        customer = await self.api.customer(**fields)
        await self.api.grant(customer["id"], 3)
        return await self.api.key(Role.customer, customer["id"])

    async def submit(self, who: dict[str, str], line: str) -> dict[str, Any]:
        self.api.clock.advance(timedelta(seconds=1))
        n = next(SUBMISSIONS)
        body = {
            "line": line,
            "subject": f"Backups fail with error E{n} on host {n}",
            "body": f"Error E{n} on host {n}.",
        }
        response = await self.api.client.post("/v1/tickets", json=body, headers=who)
        assert response.status_code in (201, 402), response.text
        self.created += response.status_code == 201
        return dict(response.json())

    async def act(self, op: str, paying: dict[str, str], partner: dict[str, str]) -> None:
        client, admin = self.api.client, self.api.admin
        if op in ("technical", "partner", "free_line"):
            who = partner if op == "partner" else paying
            made = await self.submit(
                who, "customer_relations" if op == "free_line" else "technical"
            )
            if "id" in made and made.get("line") == "technical":
                self.tickets.append(made["id"])
            return
        if not self.tickets:
            return
        ticket = self.tickets.pop()
        self.api.clock.advance(timedelta(seconds=1))
        if op == "out_of_scope":
            r = await client.post(f"/v1/tickets/{ticket}/out-of-scope",
                                  json={"reason": "not ours"}, headers=admin)  # fmt: skip
        elif op == "misrouted":
            r = await client.post(f"/v1/tickets/{ticket}/transfer",
                                  json={"to_line": "customer_relations"}, headers=admin)  # fmt: skip
        elif op == "product_bug":
            r = await client.post(f"/v1/tickets/{ticket}/bug-confirmation",
                                  json={"bug_reference": "BUG-1"}, headers=admin)  # fmt: skip
        elif op == "merged" and self.tickets:
            r = await client.post(f"/v1/tickets/{ticket}/merge",
                                  json={"into": self.tickets[-1]}, headers=admin)  # fmt: skip
        else:
            return
        assert r.status_code in (200, 409, 422), r.text


def test_usage_totals_equal_the_journal(database_url: str) -> None:
    loop = asyncio.new_event_loop()
    clock = FrozenClock(START)
    app_settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test", database_url=database_url, periodic_tasks_enabled=False, log_json=False,
    )  # fmt: skip
    app = create_app(app_settings, clock=clock)
    state: dict[str, Any] = {}

    async def start() -> None:
        state["lifespan"] = app.router.lifespan_context(app)
        await state["lifespan"].__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        api = Api(client=client, app=app, clock=clock, admin={})
        api.admin = await api.key(Role.admin)
        state["api"], state["finance"] = api, await api.key(Role.finance)

    async def stop() -> None:
        await state["api"].client.aclose()
        await state["lifespan"].__aexit__(None, None, None)

    async def one_history(ops: list[str]) -> None:
        api: Api = state["api"]
        clock.advance(timedelta(hours=1))
        start_at = clock.now()
        history = History(api)
        paying = await history.person()
        partner = await history.person(name="Partner GmbH", partner=True)
        for op in ops:
            await history.act(op, paying, partner)
        end_at = clock.now() + timedelta(seconds=1)
        params = {"from": rfc(start_at), "to": rfc(end_at)}
        response = await api.client.get("/v1/reports/usage", params=params,
                                        headers=state["finance"])  # fmt: skip
        assert response.status_code == 200, response.text
        report = response.json()
        async with api.db.engine.connect() as conn:
            rows = (await conn.execute(text(JOURNAL_SQL), {"start": start_at, "end": end_at})).all()
            partner_count = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM ticket_charges WHERE reason = 'partner' "
                        "AND created_at >= :s AND created_at < :e"
                    ),
                    {"s": start_at, "e": end_at},
                )
            ).scalar_one()
        charged = sum(int(total) for kind, _, total in rows if kind == "charge")
        refunded: dict[str, int] = {}
        for kind, reason, total in rows:
            if kind == "refund":
                refunded[reason] = refunded.get(reason, 0) - int(total)
        totals = report["totals"]
        assert totals["credits_charged"] == charged
        assert {k: v for k, v in totals["credits_refunded"].items() if v} == {
            k: v for k, v in refunded.items() if v
        }
        assert totals["credits_refunded_total"] == sum(refunded.values())
        assert totals["partner_tickets"] == totals["partner_credits_would_cost"] == partner_count
        assert partner_count == ops.count("partner")
        assert totals["tickets"] == sum(r["tickets"] for r in report["rows"]) == history.created
        for field in ("credits_charged", "credits_refunded_total", "partner_tickets"):
            assert totals[field] == sum(r[field] for r in report["rows"])
        as_csv = await api.client.get("/v1/reports/usage", params={**params, "format": "csv"},
                                      headers=state["finance"])  # fmt: skip
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert table[-1]["customer_id"] == "TOTAL"
        assert int(table[-1]["credits_charged"]) == charged
        assert len(table) == len(report["rows"]) + 1

    @settings(max_examples=5, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(ops=OPS)
    def check(ops: list[str]) -> None:
        loop.run_until_complete(one_history(ops))

    loop.run_until_complete(start())
    try:
        check()
    finally:
        loop.run_until_complete(stop())
        loop.close()


async def test_usage_report_roles_and_bad_periods(api: Api) -> None:
    url = "/v1/reports/usage"
    ok = {"from": "2026-11-01", "to": "2026-12-01"}
    for role in (Role.finance, Role.cr_agent):
        response = await api.client.get(url, params=ok, headers=await api.key(role))
        assert response.status_code == 200, response.text
    for role in (Role.engineer, Role.integration):
        assert (
            await api.client.get(url, params=ok, headers=await api.key(role))
        ).status_code == 403
    customer = await api.customer()
    own = await api.key(Role.customer, customer["id"])
    assert (await api.client.get(url, params=ok, headers=own)).status_code == 403
    for bad in ({"from": "2026-12-01", "to": "2026-11-01"}, {"from": "yesterday", "to": "2026-11-01"},
                {"to": "2026-11-01"}, {"from": "2020-01-01", "to": "2026-01-01"},
                {**ok, "format": "xml"}):  # fmt: skip
        response = await api.client.get(url, params=bad, headers=api.admin)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
