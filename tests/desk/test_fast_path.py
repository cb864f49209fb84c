"""The one-call submission (app.desk.fast_submit, app.desk.submit_sql) against the general
path it stands in for.

The differential test plays one scenario twice from the same moment, once with the fast
path on and once off, for two customers set up alike, and compares everything the
submissions wrote — tickets, messages, clocks, SLA events, urgent periods, journal
transactions and lines, lots, wallets, charges, events — and every answer, ids and ticket
numbers aside. The scenario reaches the fast path's common cases (a paid lot's value
split, a contract level's targets, severity 1's 24/7 clock, metadata, a registered
product's supported version, debits of a customer with balance thresholds that they do not
cross, a partner's tickets on both lines) and the ones it hands over (a lapsed lot, a
duplicate, a replay, the auto top-up and low-balance crossings, the last credit, 402)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.service import create_api_key
from app.kit.auth import Role
from app.kit.observability import FAST_SUBMITS
from app.topups.models import AutoTopUp
from app.topups.service import OFFLINE_CARD_OK
from credits import accounts as acc
from credits import service as ledger
from credits.hooks import BALANCE_DROPPED, BalanceDrop
from tests.conftest import Api
from tests.desk.conftest import Desk, Person

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

TABLES = {
    # table: (the rows of a customer, in their order of writing)
    "tickets": "SELECT t.* FROM tickets t WHERE customer_id = :c ORDER BY number",
    "ticket_messages": "SELECT m.* FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id "
    "WHERE t.customer_id = :c ORDER BY m.seq",
    "ticket_slas": "SELECT s.* FROM ticket_slas s JOIN tickets t ON t.id = s.ticket_id "
    "WHERE t.customer_id = :c ORDER BY t.number",
    "sla_events": "SELECT e.* FROM sla_events e JOIN tickets t ON t.id = e.ticket_id "
    "WHERE t.customer_id = :c ORDER BY e.seq",
    "sla_urgent_periods": "SELECT u.* FROM sla_urgent_periods u WHERE customer_id = :c "
    "ORDER BY u.seq",
    "ticket_charges": "SELECT ch.* FROM ticket_charges ch JOIN tickets t ON t.id = ch.ticket_id "
    "WHERE t.customer_id = :c ORDER BY ch.seq",
    "journal_transactions": "SELECT j.* FROM journal_transactions j WHERE customer_id = :c "
    "ORDER BY j.seq",
    "journal_lines": "SELECT l.* FROM journal_lines l JOIN journal_transactions j "
    "ON j.seq = l.transaction_seq WHERE j.customer_id = :c ORDER BY l.id",
    # created at one frozen instant, lots differ by content: order by it, not by chance
    "lots": "SELECT l.* FROM lots l WHERE customer_id = :c "
    "ORDER BY l.created_at, l.amount, l.source, l.expires_at NULLS FIRST, l.credits",
    "wallets": "SELECT w.* FROM wallets w WHERE customer_id = :c",
    "events": "SELECT e.* FROM events e WHERE customer_id = :c ORDER BY e.seq",
    "top_ups": "SELECT t.* FROM top_ups t WHERE customer_id = :c ORDER BY t.created_at",
}
# Per-row counters and what only the database's order assigns: never compared.
VOLATILE = {"seq", "txid", "transaction_seq", "id"}
_ID = re.compile(r"\b(cus|tkt|msg|ent|evt|lot|key|lvl|prd|tup)_[0-9A-Za-z]{24}\b")
_NUMBER = re.compile(r'("number": ?|"ticket_number": ?|ticket #)(\d+)')


class Normaliser:
    """Ids become `<tkt 1>`, `<tkt 2>`… in order of first appearance; ticket numbers their
    rank among the customer's tickets."""

    def __init__(self, numbers: list[int]) -> None:
        self.ids: dict[str, str] = {}
        self.rank = {n: i for i, n in enumerate(sorted(numbers), 1)}

    def text(self, value: str) -> str:
        def name(m: re.Match[str]) -> str:
            found = m.group(0)
            if found not in self.ids:
                count = sum(1 for v in self.ids.values() if v.startswith(f"<{m.group(1)} "))
                self.ids[found] = f"<{m.group(1)} {count + 1}>"
            return self.ids[found]

        value = _ID.sub(name, value)
        return _NUMBER.sub(lambda m: f"{m.group(1)}#{self.rank.get(int(m.group(2)))}", value)


async def _state(run_sql: Any, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    state = {}
    for table, sql in TABLES.items():
        rows = await run_sql(f"SELECT row_to_json(x)::text FROM ({sql}) x", c=customer_id)
        state[table] = [json.loads(r[0]) for r in rows]
    return state


def _normalised(
    state: dict[str, list[dict[str, Any]]], answers: list[tuple[int, str]]
) -> tuple[str, list[tuple[int, str]]]:
    """`state`: both customers' (its keys prefixed); `answers`: in the scenario's order."""
    norm = Normaliser([t["number"] for k, v in state.items() if k.endswith("tickets") for t in v])
    for table, rows in state.items():
        for row in rows:
            for column in VOLATILE & set(row):
                if not (table.endswith(("tickets", "lots")) and column == "id"):
                    del row[column]
    dump = norm.text(json.dumps(state, sort_keys=True, indent=1))
    return dump, [(status, norm.text(body)) for status, body in answers]


async def _customer_alike(desk: Desk, api: Api, level_id: str) -> Person:
    """A customer with a free lot of 1, a paid lot of 6 for €100.00 (value split 1667, 1667,
    1667, 1667, 1666, 1666), a free promotional credit that lapses after a day, a
    low-balance alert at 2, auto top-up at 4, and a contract level."""
    person = await desk.person(low_balance_threshold=2)
    now = api.clock.now()
    async with api.db.unit_of_work() as session:
        await ledger.grant(
            session, person.id, credits=1, amount=0, currency="EUR", source="reward", now=now
        )
        await ledger.grant(
            session, person.id, credits=6, amount=10_000, currency="EUR", source="purchase",
            now=now, valid_days=365, cash_account=acc.CASH_OFFLINE,
        )  # fmt: skip
        await ledger.grant(
            session, person.id, credits=1, amount=0, currency="EUR", source="promotion",
            now=now, valid_days=1,
        )  # fmt: skip
        session.add(
            AutoTopUp(
                customer_id=person.id, enabled=True, pack="starter", threshold=4, failures=0,
                provider="offline", payment_method_id=OFFLINE_CARD_OK, updated_at=now,
            )
        )  # fmt: skip
    response = await api.client.put(
        f"/v1/customers/{person.id}/contract-level", json={"level_id": level_id},
        headers=api.admin,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return person


async def _scenario(desk: Desk, api: Api, who: Person, partner: Person) -> list[tuple[int, str]]:
    answers: list[tuple[int, str]] = []

    async def submit(line: str = "technical", *, by: Person = who, **fields: Any) -> None:
        headers = fields.pop("headers", None)
        r = await desk.submit(by, line, headers=headers, **fields)
        answers.append((r.status_code, r.text))
        api.clock.advance(timedelta(minutes=3))

    keyed = {**who.headers, "Idempotency-Key": "same-request"}
    api.clock.advance(timedelta(days=2))  # the promotional credit lapses, unswept
    # 8 credits, 1 lapsed: handed over, the general path sweeps it and charges (7 → 6)
    await submit(subject="Installer fails on step one", body="E1 on Debian 12", severity=2)
    await submit("customer_relations", subject="Invoice address change", body="New address")
    await submit(subject="Installer fails on step one", body="E1 on Debian 12")  # duplicate
    urgent = {
        "subject": "Database down after the update", "body": "All queries fail", "severity": 1,
        "product": "Widget Server", "version": "2.0", "metadata": {"crm": "A-1"},
        "headers": keyed,
    }  # fmt: skip
    await submit(**urgent)  # 6 → 5: thresholds at 4 and 2 not crossed, on the fast path
    await submit(**urgent)  # the replay
    await submit(subject="Report export is empty", body="The CSV has headers only")  # 5 → 4
    await submit(subject="Mail relay rejects us", body="550 on every message")  # 4 → 3
    await submit(subject="Licence server refuses start", body="Port 8443 in use?")  # 3 → 2
    await submit(subject="Search index is stale", body="New tickets missing")  # 2 → 1
    await submit(subject="Backups fail at night", body="Disk full at 02:00")  # 1 → 0
    await submit(subject="Cannot schedule backups", body="The cron field is greyed out")  # 402
    # a partner's tickets: 0 credits, on the fast path
    await submit(by=partner, subject="Partner integration fails", body="HTTP 500 at sync")
    await submit("customer_relations", by=partner, subject="Partner invoice", body="Copy please")
    return answers


async def test_both_paths_write_the_same(desk: Desk, api: Api, run_sql: Any) -> None:
    level = await api.client.post(
        "/v1/contract-levels",
        json={"name": "Gold", "targets": [
            {"severity": 2, "first_response_minutes": 30, "resolution_minutes": 240}
        ]},
        headers=api.admin,
    )  # fmt: skip
    assert level.status_code == 201, level.text
    product = await api.client.post(
        "/v1/products", json={"name": "Widget Server"}, headers=api.admin
    )
    assert product.status_code == 201, product.text
    for version, released in (("1.0", "2025-01-10"), ("2.0", "2026-06-01")):
        r = await api.client.post(
            f"/v1/products/{product.json()['id']}/versions",
            json={"version": version, "released_on": released}, headers=api.admin,
        )  # fmt: skip
        assert r.status_code == 201, r.text
    settings = api.app.state.settings
    start = api.clock.now()
    results = []
    gaps: list[list[int]] = []
    for fast in (True, False):
        settings.fast_submit = fast
        api.clock.set(start)
        who = await _customer_alike(desk, api, level.json()["id"])
        partner = await desk.person(partner=True)
        before = {o: _count(o) for o in OUTCOMES}
        answers = await _scenario(desk, api, who, partner)
        moved = {o: _count(o) - n for o, n in before.items()}
        state = await _state(run_sql, who.id)
        state.update({f"partner {k}": v for k, v in (await _state(run_sql, partner.id)).items()})
        numbers = sorted(t["number"] for t in state["tickets"] + state["partner tickets"])
        gaps.append([n - numbers[0] for n in numbers])  # the normaliser hides them
        results.append((_normalised(state, answers), moved))

    (fast_dump, fast_answers), fast_moved = results[0]
    (general_dump, general_answers), general_moved = results[1]
    assert [s for s, _ in fast_answers] == [201, 201, 409] + [201] * 7 + [402, 201, 201]
    assert fast_answers == general_answers
    assert fast_dump == general_dump
    assert gaps[0] == gaps[1]  # a hand-over draws no ticket number of its own
    for kind in ("credits.expired", "balance.low", "balance.depleted"):
        assert kind in fast_dump  # the handed-over debits' subscribers ran
    assert '"crossing_entry"' in fast_dump  # the auto top-up was claimed
    # the fast run answered the common cases itself and handed over the others
    assert fast_moved == {
        "answered": 6, "lapsed": 1, "duplicate": 1, "idempotency": 1, "balance": 3,
        "insufficient": 1,
    }  # fmt: skip
    assert set(general_moved.values()) == {0}


OUTCOMES = ("answered", "lapsed", "duplicate", "idempotency", "balance", "insufficient")


def _count(outcome: str) -> float:
    value = FAST_SUBMITS.labels(outcome)._value.get()
    return float(value)


async def test_a_configuration_change_reaches_the_next_submission(desk: Desk, api: Api) -> None:
    """Each process caches targets; a change made anywhere bumps the version, the call
    refuses the stale one, and the submission is answered with the new targets."""
    person = await desk.person(credits=5)
    first = await desk.ticket(person, severity=2)
    assert first["sla"]["first_response"]["target_minutes"] != 17
    changed = await api.client.put(
        "/v1/sla/targets",
        json={"line": "technical", "severity": 2, "category": "product_issue",
              "first_response_minutes": 17, "assignment_minutes": 60,
              "resolution_minutes": 600},
        headers=api.admin,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    stale = _count("config")
    second = await desk.ticket(person, severity=2)
    assert second["sla"]["first_response"]["target_minutes"] == 17
    assert _count("config") == stale + 1
    answered = _count("answered")
    third = await desk.ticket(person, severity=2)
    assert third["sla"]["first_response"]["target_minutes"] == 17
    assert _count("answered") == answered + 1  # reloaded: the fast path again


async def test_a_revoked_key_is_refused_at_once(desk: Desk, api: Api) -> None:
    customer = await api.customer()
    await api.grant(customer["id"], 5)
    async with api.db.unit_of_work() as session:
        key, secret = await create_api_key(
            session, role=Role.customer, name="cabinet", customer_id=customer["id"],
            now=api.clock.now(),
        )  # fmt: skip
    who = Person(customer["id"], {"Authorization": f"Bearer {secret}"})
    assert (await desk.submit(who)).status_code == 201  # its key is now cached
    revoked = await api.client.delete(f"/v1/api-keys/{key.id}", headers=api.admin)
    assert revoked.status_code == 200, revoked.text
    refused = await desk.submit(who)
    assert refused.status_code == 401, refused.text
    balance = await api.client.get(f"/v1/customers/{who.id}/balance", headers=api.admin)
    assert balance.json()["available"] == 4


async def test_a_partner_key_submits_only_for_its_own(desk: Desk, api: Api) -> None:
    partner = await api.customer(partner=True)
    key = await api.key(Role.integration, partner["id"])
    own = await api.client.post(
        "/v1/customers", json={"name": "End Co", "email": "it@end.example"}, headers=key
    )
    assert own.status_code == 201, own.text
    await api.grant(own.json()["id"], 2)
    foreign = await desk.person(credits=2)
    body = {"line": "technical", "subject": "Sync job stalls nightly", "body": "Since 2.1"}
    mine = await api.client.post(
        "/v1/tickets", json={**body, "customer_id": own.json()["id"]}, headers=key
    )
    assert mine.status_code == 201, mine.text
    theirs = await api.client.post(
        "/v1/tickets", json={**body, "customer_id": foreign.id}, headers=key
    )
    assert theirs.status_code == 404, theirs.text
    balance = await api.client.get(f"/v1/customers/{foreign.id}/balance", headers=api.admin)
    assert balance.json()["available"] == 2


async def test_an_answer_of_the_fast_path_is_counted_under_its_route(desk: Desk, api: Api) -> None:
    person = await desk.person(credits=2)
    requests = api.app.state.metrics.requests
    before = requests.labels("POST", "/v1/tickets", "201")._value.get()
    answered = _count("answered")
    assert (await desk.submit(person)).status_code == 201
    assert _count("answered") == answered + 1
    assert requests.labels("POST", "/v1/tickets", "201")._value.get() == before + 1


async def test_a_connection_killed_under_the_fast_path_answers_201_or_503(
    desk: Desk, api: Api, run_sql: Any
) -> None:
    """Pooled connections killed by the server: the next submission is answered from a new
    connection or refused with 503 (retry), never 500, and a credit goes only with a 201."""
    person = await desk.person(credits=5)
    assert (await desk.submit(person)).status_code == 201  # the pool holds a warm connection
    await run_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    statuses = [(await desk.submit(person)).status_code for _ in range(3)]
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[-1] == 201
    balance = await api.client.get(f"/v1/customers/{person.id}/balance", headers=api.admin)
    assert balance.json()["available"] == 5 - 1 - statuses.count(201)


async def test_a_new_balance_drop_subscriber_fires_on_a_submission(desk: Desk, api: Api) -> None:
    """A debit in the one-call submission never skips a BALANCE_DROPPED subscriber: while
    one is connected without a SQL predicate that `desk_submit_ticket_v3` calls, the fast
    path is off and the general path publishes the hook to it."""
    seen: list[tuple[str, int, int, str]] = []

    async def on_drop(session: AsyncSession, drop: BalanceDrop) -> None:
        seen.append((drop.customer_id, drop.before, drop.after, drop.kind))

    person = await desk.person(credits=5)
    BALANCE_DROPPED.connect(on_drop)
    try:
        refused = _count("subscribers")
        await desk.ticket(person)
        assert seen == [(person.id, 5, 4, "charge")]
        assert _count("subscribers") == refused + 1
        BALANCE_DROPPED.connect(on_drop, sql="another_feature_concerns_v1")  # unknown to v2
        await desk.ticket(person)
        assert seen[-1] == (person.id, 4, 3, "charge")
        assert _count("subscribers") == refused + 2
    finally:
        BALANCE_DROPPED.disconnect(on_drop)
    answered = _count("answered")
    await desk.ticket(person)  # gone: the fast path answers again
    assert _count("answered") == answered + 1
    assert len(seen) == 2
