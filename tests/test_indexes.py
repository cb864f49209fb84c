"""Every index earns its keep (issue 19; the list is docs/architecture.md, "Indexes").

Each key lookup runs through the code that issues it (a repository or
service function); the statement it sends is captured on the wire side of SQLAlchemy and
EXPLAINed, with the same parameters, against tables holding enough rows, with
`enable_seqscan = off` so that the planner's choice depends only on the indexes that can
serve the query. The assertion names the index: a change to a query or to an index that
makes the index useless to it fails here.

The partial unique indexes must still refuse duplicates, and the migration that made them
must keep the rows of a populated database, both ways."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import repository as desk_repo
from app.desk.sla import service as sla
from app.kit import idempotency, migrations
from app.kit.auth import Principal, Role
from app.kit.db import Database
from app.reports.repository import consumed_credits
from app.webhooks.service import list_events
from billing.exports.periods import Period
from credits import queries as ledger_queries
from credits import refunds as ledger_refunds
from credits import service as ledger
from credits.models import Lot
from tests.conftest import PG_ADMIN_URL, _asyncpg_dsn, _pg_admin, _postgres_reason

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROWS = 20_000  # tickets, journal transactions, events…: enough for index scans to pay

# ---------------------------------------------------------------- a populated database

# Mostly-NULL columns are as sparse as in use: a purchase per tenth transaction, a refund
# per hundredth, most lots spent and without expiry, most tickets closed; the journal's
# accounts and units are those a grant and a charge post (credits/accounts.py).
SEED = f"""
INSERT INTO customers (id, name, email, partner, auto_accept_transfers, verify_failures,
                       created_at, updated_at)
SELECT 'cus_' || c, 'C' || c, 'c' || c || '@example.com', false, false, 0, $1::timestamptz, $1::timestamptz
FROM generate_series(1, 400) c;
INSERT INTO wallets (customer_id, available, frozen, spend_total, rewarded_credits, updated_at)
SELECT id, 0, 0, 0, 0, $1::timestamptz FROM customers;
INSERT INTO tickets (id, number, customer_id, line, status, severity, subject, body,
                     content_hash, created_at, updated_at)
SELECT 'tkt_' || i, i, 'cus_' || (i % 400 + 1),
       CASE WHEN i % 2 = 0 THEN 'technical' ELSE 'customer_relations' END,
       CASE WHEN i % 97 = 0 THEN 'awaiting_approval' WHEN i % 20 = 0 THEN 'open'
            ELSE 'closed' END,
       3, 's', 'b', md5(i::text), $1::timestamptz - ({ROWS} - i) * interval '1 minute',
       $1::timestamptz - ({ROWS} - i) * interval '1 minute'
FROM generate_series(1, {ROWS}) i;
INSERT INTO ticket_messages (id, ticket_id, author_role, internal, body, created_at)
SELECT 'msg_' || i, 'tkt_' || i, 'customer', false, 'b', $1::timestamptz FROM generate_series(1, {ROWS}) i;
INSERT INTO ticket_charges (ticket_id, credits, reason, transaction_id, refund_transaction_id,
                            created_at)
SELECT 'tkt_' || i, 1, 'ticket', 'ent_' || i,
       CASE WHEN i % 100 = 0 THEN 'ent_r' || i END, $1::timestamptz
FROM generate_series(2, {ROWS}, 2) i;
INSERT INTO journal_transactions (seq, id, kind, reason, customer_id, credits, ticket_id,
                                  purchase_id, refund_of, dedupe_key, posted_at)
SELECT i, 'ent_' || i,
       CASE WHEN i % 10 = 1 THEN 'grant' WHEN i % 100 = 5 THEN 'refund' ELSE 'charge' END,
       'ticket', 'cus_' || (i % 400 + 1), 1, 'tkt_' || i,
       CASE WHEN i % 10 = 1 THEN 'pur_' || i END,
       CASE WHEN i % 100 = 5 THEN 'ent_' || (i - 1) END,
       CASE WHEN i % 10 = 1 THEN 'purchase:pur_' || i END,
       $1::timestamptz - ({ROWS} - i) * interval '1 minute'
FROM generate_series(1, {ROWS}) i;
INSERT INTO lots (id, customer_id, source, credits, remaining, frozen, amount, value_remaining,
                  unit_value, currency, purchase_id, origin_lot_id, expires_at, created_at)
SELECT 'lot_' || i, 'cus_' || (i % 400 + 1), 'purchase', 10,
       CASE WHEN i % 5 = 0 THEN 5 ELSE 0 END, 0, 1000,
       CASE WHEN i % 5 = 0 THEN 500 ELSE 0 END, 100, 'EUR',
       CASE WHEN i % 3 = 0 THEN 'pur_' || i END,
       CASE WHEN i % 50 = 0 THEN 'lot_' || (i - 1) END,
       CASE WHEN i % 4 = 0 THEN $1::timestamptz + (i % 90 - 45) * interval '1 day' END,
       $1::timestamptz
FROM generate_series(1, {ROWS // 5}) i;
INSERT INTO journal_lines (transaction_seq, account, unit, amount, customer_id, lot_id)
SELECT t.seq, v.account, v.unit, v.amount, t.customer_id, 'lot_' || (t.seq % {ROWS // 5} + 1)
FROM journal_transactions t, LATERAL (VALUES
    ('customer:' || t.customer_id || ':available', 'CREDIT', 10),
    ('credits:issued', 'CREDIT', -10),
    ('cash:stripe', 'EUR', 1000),
    ('deferred_revenue', 'EUR', -1000)) v (account, unit, amount)
WHERE t.kind = 'grant';
INSERT INTO journal_lines (transaction_seq, account, unit, amount, customer_id, lot_id)
SELECT t.seq, v.account, v.unit, v.amount * CASE WHEN t.kind = 'refund' THEN -1 ELSE 1 END,
       t.customer_id, 'lot_' || (t.seq % {ROWS // 5} + 1)
FROM journal_transactions t, LATERAL (VALUES
    ('credits:consumed', 'CREDIT', 1),
    ('customer:' || t.customer_id || ':available', 'CREDIT', -1),
    ('deferred_revenue', 'EUR', 100),
    ('revenue:support', 'EUR', -100)) v (account, unit, amount)
WHERE t.kind <> 'grant';
INSERT INTO journal_lines (transaction_seq, account, unit, amount, customer_id, lot_id)
SELECT t.seq, v.account, 'EUR', v.amount, t.customer_id, 'lot_' || (t.seq % {ROWS // 5} + 1)
FROM journal_transactions t,
     LATERAL (VALUES ('revenue:refunds', 50), ('cash:stripe', -50)) v (account, amount)
WHERE t.seq % 100 = 41;
INSERT INTO events (id, type, customer_id, created_at, data, dispatched_at, txid)
SELECT 'evt_' || i, 'ticket.created', 'cus_' || (i % 400 + 1),
       $1::timestamptz - ({ROWS} - i) * interval '1 minute', '{{}}',
       $1::timestamptz - ({ROWS} - i) * interval '1 minute',
       -- older than this transaction, so listed (a fresh cluster's ids are still small)
       pg_current_xact_id()::text::bigint - {ROWS} - 1 + i
FROM generate_series(1, {ROWS}) i;
INSERT INTO ticket_slas (ticket_id, customer_id, category, started_at, paused_working_seconds,
                         paused_wall_seconds, stopped, first_response_at,
                         first_response_breached, escalation_level)
SELECT id, customer_id, 'product_issue', created_at, 0, 0, status = 'closed', created_at,
       false, 2
FROM tickets;
INSERT INTO sla_events (ticket_id, kind, level, occurred_at)
SELECT 'tkt_' || i, CASE WHEN i % 10 = 0 THEN 'escalated' ELSE 'started' END,
       CASE WHEN i % 10 = 0 THEN 1 END, $1::timestamptz
FROM generate_series(1, {ROWS}) i;
INSERT INTO sla_urgent_periods (customer_id, ticket_id, started_at, ended_at, named)
SELECT customer_id, id, created_at, CASE WHEN number <= {ROWS} - 400 THEN updated_at END, false
FROM tickets;
INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
SELECT 'key_1', 'k' || i, 'h', $1::timestamptz - ({ROWS} - i) * interval '1 minute'
FROM generate_series(1, {ROWS}) i;
"""


async def _seed(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        async with conn.transaction():
            # A bulk load: no per-row triggers (the journal's balance check), no FK checks.
            await conn.execute("SET LOCAL session_replication_role = replica")
            for statement in SEED.split(";\n"):
                if "$1" in statement:
                    await conn.execute(statement, NOW)
                elif statement.strip():
                    await conn.execute(statement)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def populated_pg(pg_database: str) -> Iterator[str]:
    """A database of its own (the shared one is truncated between tests), migrated and
    filled once for the module."""
    assert _postgres_reason() is None
    name = f"creditdesk_indexes_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        asyncio.run(_seed(url))
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ---------------------------------------------------------------- EXPLAIN what the code sends


@asynccontextmanager
async def _planned(url: str) -> AsyncIterator[tuple[AsyncSession, list[tuple[str, Any]]]]:
    """A session with sequential scans off; the statements it sends are recorded. Rolled
    back at the end: the functions under test only read, the purge deletes nothing kept."""
    database = Database(url, pool_size=1)
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    try:
        async with database.sessionmaker() as session:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            event.listen(database.engine.sync_engine, "before_cursor_execute", record)
            yield session, sent
            await session.rollback()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
        await database.dispose()


def _index_names(plan: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            names.add(plan["Index Name"])
        for value in plan.values():
            names |= _index_names(value)
    elif isinstance(plan, list):
        for value in plan:
            names |= _index_names(value)
    return names


async def _indexes_used(
    url: str, run: Callable[[AsyncSession], Awaitable[object]], table: str
) -> set[str]:
    """Runs `run` (code of the app), then EXPLAINs the one statement it sent that reads
    `table`, with its parameters, on the same transaction. Returns the indexes in the plan."""
    async with _planned(url) as (session, sent):
        await run(session)
        mine = [(sql, params) for sql, params in sent if f"FROM {table}" in sql]
        assert len(mine) == 1, f"expected one statement on {table}, got {mine}"
        sql, params = mine[0]
        connection = await session.connection()
        found = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = found.scalar_one()
        return _index_names(json.loads(plan) if isinstance(plan, str) else plan)


LOOKUPS: list[tuple[str, str, Callable[[AsyncSession], Awaitable[object]], set[str]]] = [
    (
        "duplicate check on submission",
        "tickets",
        lambda s: desk_repo.find_duplicate(s, "cus_8", md5(7), NOW - timedelta(days=1)),
        {"ix_tickets_customer_content"},
    ),
    (
        "a customer's tickets (the dropped ix_tickets_customer_id's job)",
        "tickets",
        lambda s: desk_repo.ticket_page(
            s, limit=25, before=None, customer_id="cus_8", line=None, status=None
        ),
        {"ix_tickets_customer_content"},
    ),
    (
        "a line's queue by status",
        "tickets",
        lambda s: desk_repo.ticket_page(
            s,
            limit=25,
            before=None,
            customer_id=None,
            line="technical",
            status="awaiting_approval",
        ),
        {"ix_tickets_line_status"},
    ),
    (
        "tickets updated since",
        "tickets",
        lambda s: desk_repo.ticket_page(
            s,
            limit=25,
            before=None,
            customer_id=None,
            line=None,
            status=None,
            updated_gte=NOW - timedelta(minutes=5),
        ),
        {"ix_tickets_updated_at"},
    ),
    (
        "a ticket's charge",
        "ticket_charges",
        lambda s: desk_repo.current_charge(s, "tkt_42"),
        {"ix_ticket_charges_ticket_seq"},
    ),
    (
        "a ticket's messages",
        "ticket_messages",
        lambda s: desk_repo.list_messages(s, "tkt_42", limit=25, after=None, internal=True),
        {"ix_ticket_messages_ticket_seq"},
    ),
    (
        "a charge's refund by refund_of (partial unique)",
        "journal_transactions",
        lambda s: ledger.find_refund(s, "ent_104"),
        {"uq_journal_transactions_refund_of"},
    ),
    (
        "a transaction by its id",
        "journal_transactions",
        lambda s: ledger.get_transaction(s, "ent_104"),
        {"uq_journal_transactions_id"},
    ),
    (
        "a purchase's refunds by purchase_id (partial), then their lines",
        "journal_lines",
        lambda s: ledger_refunds.covered_by_refunds(s, "pur_101"),
        {"ix_journal_transactions_purchase_id", "ix_journal_lines_transaction_seq"},
    ),
    (
        "a customer's statement",
        "journal_transactions",
        lambda s: ledger_queries.entries(s, "cus_8", limit=25, cursor=None),
        {"ix_journal_transactions_customer_seq"},
    ),
    (
        "a period's consumed credits",
        "journal_lines",
        lambda s: consumed_credits(
            s, Period(NOW - timedelta(hours=2), NOW - timedelta(hours=1)), "charge"
        ),
        {"ix_journal_transactions_posted_at", "ix_journal_lines_transaction_seq"},
    ),
    (
        "a purchase's grant lots by purchase_id (partial)",
        "lots",
        lambda s: ledger_queries.purchase_lots(s, "pur_300"),
        {"ix_lots_purchase_id"},
    ),
    (
        "a customer's open lots, at every charge",
        "lots",
        lambda s: ledger._open_lots(s, "cus_8"),
        {"ix_lots_customer_id"},
    ),
    (
        "lapsed lots for the expiry sweep (partial)",
        "lots",
        lambda s: ledger.customers_with_lapsed_lots(s, NOW),
        {"ix_lots_expires_at"},
    ),
    (
        "money refunded on a lot's family: lots by origin (partial) and purchase, lines by lot",
        "journal_lines",
        lambda s: ledger.refund_outstanding(
            s, Lot(id="lot_300", origin_lot_id=None, purchase_id="pur_300")
        ),
        {"ix_lots_origin_lot_id", "ix_lots_purchase_id", "ix_journal_lines_lot_id"},
    ),
    (
        "a customer's events",
        "events",
        lambda s: _events(s, "cus_8"),
        {"ix_events_customer_id_seq"},
    ),
    (
        "all events, in commit order",
        "events",
        lambda s: _events(s, None),
        {"ix_events_txid_seq"},
    ),
    (
        "a ticket's service-level history",
        "sla_events",
        lambda s: sla.history(s, "tkt_42"),
        {"ix_sla_events_ticket_seq"},
    ),
    (
        "the escalation sweep's running clocks",
        "ticket_slas",
        lambda s: sla.sweep_candidates(s, compensation=False),
        {"ix_ticket_slas_open"},
    ),
    (
        "a customer's current most-urgent ticket",
        "sla_urgent_periods",
        lambda s: sla.current_urgent(s, "cus_8"),
        {"ix_sla_urgent_periods_customer"},
    ),
    (
        "idempotency keys past retention",
        "idempotency_keys",
        lambda s: idempotency.purge_expired(s, now=NOW, retention=timedelta(minutes=10)),
        {"ix_idempotency_keys_created_at"},
    ),
]


def md5(number: int) -> str:
    """The seed's content hash of ticket `number` (PostgreSQL's md5 of its text)."""
    return hashlib.md5(str(number).encode()).hexdigest()


async def _events(session: AsyncSession, customer_id: str | None) -> object:
    principal = Principal(key_id="key_test", role=Role.admin, customer_id=None)
    return await list_events(
        session, principal, type=None, customer_id=customer_id, created_gte=None,
        cursor=None, limit=25,
    )  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("table", "run", "expected"),
    [pytest.param(table, run, expected, id=name) for name, table, run, expected in LOOKUPS],
)
async def test_the_lookup_uses_its_index(
    populated_pg: str,
    table: str,
    run: Callable[[AsyncSession], Awaitable[object]],
    expected: set[str],
) -> None:
    used = await _indexes_used(populated_pg, run, table)
    assert expected <= used, f"missing {expected - used}; the plan uses {used or 'no index'}"


# ---------------------------------------------------------------- what a charge updates

# A charge updates these columns of its lots and of the wallet. While no index of the
# table covers any of them (as a key or in a partial index's condition), PostgreSQL can
# update the row in place (HOT) and writes no index entry at all.
UPDATED_BY_A_CHARGE = {
    "lots": {"remaining", "frozen", "value_remaining"},
    "wallets": {"available", "frozen", "spend_total", "rewarded_credits", "updated_at"},
}

INDEXED_COLUMNS = """
SELECT DISTINCT a.attname
FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0
WHERE i.indrelid = $1::regclass
  AND (a.attnum = ANY (i.indkey)
       OR pg_get_expr(i.indpred, i.indrelid) ~ ('\\m' || a.attname || '\\M')
       OR pg_get_expr(i.indexprs, i.indrelid) ~ ('\\m' || a.attname || '\\M'))
"""


@pytest.mark.postgres
@pytest.mark.parametrize("table", sorted(UPDATED_BY_A_CHARGE))
async def test_no_index_covers_what_a_charge_updates(populated_pg: str, table: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(populated_pg))
    try:
        indexed = {r["attname"] for r in await conn.fetch(INDEXED_COLUMNS, table)}
    finally:
        await conn.close()
    assert indexed, "the catalog query found no index at all"
    assert not indexed & UPDATED_BY_A_CHARGE[table], f"{table}: {indexed}"


# ---------------------------------------------------------------- partial, still unique


async def _insert(database: Database, sql: str, **params: Any) -> None:
    async with database.unit_of_work() as session:
        await session.execute(text(sql), params)


TXN = (
    "INSERT INTO journal_transactions (id, kind, credits, refund_of, dedupe_key, posted_at) "
    "VALUES (:id, 'grant', 0, :refund_of, :dedupe_key, :at)"
)
CHARGE = (
    "INSERT INTO ticket_charges (ticket_id, credits, reason, refund_transaction_id, created_at) "
    "VALUES ('tkt_1', 1, 'ticket', :refund, :at)"
)
SLA_EVENT = (
    "INSERT INTO sla_events (ticket_id, kind, level, occurred_at) "
    "VALUES ('tkt_1', 'escalated', :level, :at)"
)
CUSTOMER_AND_TICKET = [
    "INSERT INTO customers (id, name, email, partner, auto_accept_transfers, verify_failures, "
    "created_at, updated_at) VALUES ('cus_1', 'C', 'c@example.com', false, false, 0, :at, :at)",
    "INSERT INTO tickets (id, number, customer_id, line, status, severity, subject, body, "
    "content_hash, created_at, updated_at) VALUES ('tkt_1', 1, 'cus_1', 'technical', 'open', "
    "3, 's', 'b', 'h', :at, :at)",
]


async def test_partial_unique_indexes_still_refuse_duplicates(database_url: str) -> None:
    database = Database(database_url, pool_size=1)
    try:
        for statement in CUSTOMER_AND_TICKET:
            await _insert(database, statement, at=NOW)
        cases = [  # (statement, params of a NULL row, params of a set row)
            (
                TXN,
                {"refund_of": None, "dedupe_key": None},
                {"refund_of": "ent_0", "dedupe_key": None},
            ),
            (TXN, {"refund_of": None, "dedupe_key": None}, {"refund_of": None, "dedupe_key": "k"}),
            (CHARGE, {"refund": None}, {"refund": "ent_r"}),
            (SLA_EVENT, {"level": None}, {"level": 1}),
        ]
        for n, (statement, null, value) in enumerate(cases):
            ids = iter(f"ent_{n}_{i}" for i in range(4))
            for params in (null, null, value):  # NULLs never conflict
                await _insert(database, statement, id=next(ids), at=NOW, **params)
            with pytest.raises(IntegrityError):
                await _insert(database, statement, id=next(ids), at=NOW, **value)
    finally:
        await database.dispose()


# ---------------------------------------------------------------- the migration keeps rows


@pytest.fixture
def empty_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of its own, to migrate up and down."""
    request.applymarker(pytest.mark.postgres)
    request.getfixturevalue("pg_database")  # skips (or fails under CI) like every PG test
    name = f"creditdesk_indexes_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


ROWS_BEFORE = [
    *CUSTOMER_AND_TICKET,
    "INSERT INTO journal_transactions (seq, id, kind, customer_id, credits, purchase_id, "
    "dedupe_key, posted_at) VALUES (1, 'ent_1', 'grant', 'cus_1', 1, 'pur_1', 'purchase:pur_1', "
    ":at)",
    "INSERT INTO journal_transactions (seq, id, kind, customer_id, credits, ticket_id, posted_at) "
    "VALUES (2, 'ent_2', 'charge', 'cus_1', -1, 'tkt_1', :at)",
    "INSERT INTO journal_transactions (seq, id, kind, customer_id, credits, refund_of, posted_at) "
    "VALUES (3, 'ent_3', 'refund', 'cus_1', 1, 'ent_2', :at)",
    "INSERT INTO journal_lines (transaction_seq, account, unit, amount) VALUES "
    "(1, 'a', 'credit', 1), (1, 'b', 'credit', -1), (2, 'a', 'credit', -1), "
    "(2, 'c', 'credit', 1), (3, 'c', 'credit', -1), (3, 'a', 'credit', 1)",
    "INSERT INTO ticket_charges (ticket_id, credits, reason, transaction_id, "
    "refund_transaction_id, created_at) VALUES ('tkt_1', 1, 'ticket', 'ent_2', 'ent_3', :at)",
]
COUNTS = (
    "SELECT (SELECT count(*) FROM journal_transactions), (SELECT count(*) FROM journal_lines), "
    "(SELECT count(*) FROM ticket_charges), "
    "(SELECT count(*) FROM journal_transactions t JOIN journal_lines l ON l.transaction_seq = t.seq"
    " WHERE t.refund_of = 'ent_2' AND t.dedupe_key IS NULL)"
)


async def _counts(url: str) -> tuple[int, ...]:
    database = Database(url, pool_size=1)
    try:
        async with database.unit_of_work() as session:
            row = (await session.execute(text(COUNTS))).one()
        return tuple(row)
    finally:
        await database.dispose()


def test_the_migration_keeps_the_rows_of_a_populated_database(empty_url: str) -> None:
    """The revision replaces unique constraints of `journal_transactions` and
    `ticket_charges` by partial unique indexes, on tables holding rows, both ways."""
    config = migrations.alembic_config(empty_url)
    previous = ScriptDirectory.from_config(config).get_revision("0015").down_revision
    assert isinstance(previous, str)
    migrations.upgrade(empty_url, previous)

    async def fill() -> None:
        database = Database(empty_url, pool_size=1)
        try:
            for statement in ROWS_BEFORE:
                await _insert(database, statement, at=NOW)
        finally:
            await database.dispose()

    asyncio.run(fill())
    before = asyncio.run(_counts(empty_url))
    assert before == (3, 6, 1, 2)
    migrations.upgrade(empty_url, "0015")
    assert asyncio.run(_counts(empty_url)) == before
    migrations.downgrade(empty_url, previous)
    assert asyncio.run(_counts(empty_url)) == before
    migrations.upgrade(empty_url, "0015")
    assert asyncio.run(_counts(empty_url)) == before
