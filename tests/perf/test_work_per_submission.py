"""PostgreSQL's work per ticket submission on the fast path, measured in ways a loaded
machine does not change (issue 30): what the WAL records (pg_walinspect: heap inserts,
updates and locks, index entries, per table), the trigger and function calls
(`pg_stat_user_functions`), and, for information only, the backends' CPU time.

It sends warm-up submissions, then `N` more from one customer on the technical line with an
Idempotency-Key (as bench/load does), and pins what they write per submission, so that a
change that adds a row, an index entry or a lock is seen. Printed with `-s`;
bench/RESULTS.md ("PostgreSQL work per submission") holds the figures.

`before` runs the previous release's SQL, still installed (released functions stay for a
rolling deploy): `desk_submit_ticket_v2` and the per-line balance check of migration 0002,
so that one run compares the two on the same machine at the same load. The functions' call
counts and times come from `pg_stat_user_functions` (`track_functions`), flushed by closing
the pool's connections.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text

from app.desk import fast_submit
from tests.desk.conftest import Desk

pytestmark = pytest.mark.postgres

N = 20

# WAL records per submission, (table or index, record): what one submission writes. An
# index entry is a `Btree/INSERT_LEAF` on the index (page splits aside, which the
# counting folds into the leaf insert).
WRITES = {
    ("events", "Heap/INSERT"): 2,
    ("idempotency_keys", "Heap/INSERT"): 1,  # the claim (speculative insert, confirmed)
    ("idempotency_keys", "Heap/UPDATE"): 1,  # the stored response (HOT when the page has room)
    ("journal_lines", "Heap/INSERT"): 2,  # granted credits carry no value: no revenue lines
    ("journal_transactions", "Heap/INSERT"): 1,
    ("journal_transactions", "Heap/LOCK"): 1,  # the lines' foreign key check (KEY SHARE)
    ("lots", "Heap/UPDATE"): 1,
    ("sla_urgent_periods", "Heap/INSERT"): 1,
    ("sla_urgent_periods", "Heap/UPDATE"): 1,
    ("ticket_charges", "Heap/INSERT"): 1,
    ("ticket_messages", "Heap/INSERT"): 1,
    ("ticket_slas", "Heap/INSERT"): 1,
    ("tickets", "Heap/INSERT"): 1,
    ("tickets", "Heap/LOCK"): 1,  # the foreign key checks of message, clock and charge
    ("wallets", "Heap/UPDATE"): 1,
    ("wallets", "Heap/LOCK"): 1,  # the customer's lock
}
# Index entries per submission, summed over each table's indexes (idempotency_keys: 2,
# more when its response update cannot stay on the page).
INDEX_ENTRIES = {
    "events": 2 * 6,  # pk, uq id, customer_id_seq, txid_seq, created_at, undispatched
    "journal_lines": 2 * 3,  # pk, transaction_seq, lot_id
    "journal_transactions": 4,  # pk, uq id, customer_seq, posted_at
    "sla_urgent_periods": 2,
    "ticket_charges": 3,
    "ticket_messages": 3,
    "ticket_slas": 2,
    "tickets": 5,
}
_TRACKED = ("desk_submit%", "credits_%", "kit_idempotency%", "topups_%", "journal_%")


def _cpu_ticks(pids: list[int]) -> int:
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


async def _balance_check(desk: Desk, function: str) -> None:
    """Points the journal's balance trigger at `function` (as the migrations do)."""
    async with desk.api.db.engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER journal_lines_balanced ON journal_lines"))
        await connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines"
                f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
        )


async def _flush_function_stats(desk: Desk, database: str) -> None:
    """Closes the pool's connections (a backend reports its function calls on exit) and
    waits until their backends are gone."""
    await desk.api.db.engine.dispose()
    for _ in range(100):
        async with desk.api.db.engine.connect() as connection:
            others = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :d"
                    " AND pid <> pg_backend_pid()"
                ),
                {"d": database},
            )
        await desk.api.db.engine.dispose()
        if not others:
            return
        await asyncio.sleep(0.05)


async def _walk(desk: Desk, sql: str, **params: Any) -> list[Any]:
    async with desk.api.db.engine.connect() as connection:
        result = await connection.execute(text(sql), params)
        rows = list(result.all()) if result.returns_rows else []
        await connection.commit()
        return rows


@pytest.mark.parametrize("release", ["before", "after"])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_work_per_submission(
    desk: Desk, release: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if release == "before":
        call = fast_submit.SUBMIT_TICKET_CALL.replace("_v3(", "_v2(")
        monkeypatch.setattr(fast_submit, "SUBMIT_TICKET_CALL", call)
        await _balance_check(desk, "journal_transaction_check_balance")
    try:
        await _measure(desk, release)
    finally:
        if release == "before":
            await _balance_check(desk, "journal_transaction_check_balance_v2")


async def _measure(desk: Desk, release: str) -> None:
    engine = desk.api.db.engine
    database = (await _walk(desk, "SELECT current_database()"))[0][0]
    await _walk(desk, f"ALTER DATABASE \"{database}\" SET track_functions = 'all'")
    await _walk(desk, "CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    await engine.dispose()  # new connections track function calls
    person = await desk.person(credits=10 * N)
    keys = iter(range(N + 4))

    def headers() -> dict[str, str]:
        return {**person.headers, "Idempotency-Key": f"work-{next(keys)}"}

    for _ in range(3):
        assert (await desk.submit(person, headers=headers())).status_code == 201

    functions = (
        "SELECT funcname, calls, self_time FROM pg_stat_user_functions WHERE "
        + " OR ".join(f"funcname LIKE '{p}'" for p in _TRACKED)
    )
    await _flush_function_stats(desk, database)
    calls_before = {r[0]: (r[1], r[2]) for r in await _walk(desk, functions)}
    assert (await desk.submit(person, headers=headers())).status_code == 201  # opens the pool
    pids = [
        r[0]
        for r in await _walk(
            desk, "SELECT pid FROM pg_stat_activity WHERE datname = :d", d=database
        )
    ]
    ticks_before = _cpu_ticks(pids)
    start = (await _walk(desk, "SELECT pg_current_wal_insert_lsn()::text"))[0][0]
    for _ in range(N):
        response = await desk.submit(person, headers=headers())
        assert response.status_code == 201, response.text
    end = (await _walk(desk, "SELECT pg_current_wal_insert_lsn()::text"))[0][0]
    # pg_walinspect reads flushed WAL only: a synchronous commit flushes all before it
    await _walk(desk, "SELECT set_config('synchronous_commit', 'on', true), pg_current_xact_id()")
    await _walk(desk, "CHECKPOINT")
    ticks = _cpu_ticks(pids) - ticks_before
    wal_bytes = (await _walk(desk, f"SELECT pg_wal_lsn_diff('{end}', '{start}')"))[0][0]
    records = await _walk(
        desk,
        "SELECT resource_manager, record_type, block_ref"
        f" FROM pg_get_wal_records_info('{start}', '{end}') WHERE block_ref IS NOT NULL",
    )
    names = {
        int(r[0]): r[1]
        for r in await _walk(
            desk,
            "SELECT pg_relation_filenode(c.oid), c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
            " AND pg_relation_filenode(c.oid) IS NOT NULL",
        )
    }
    tables = {
        r[0]: r[1]
        for r in await _walk(
            desk,
            "SELECT i.relname, t.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid",
        )
    }
    heap: Counter[tuple[str, str]] = Counter()
    index: Counter[str] = Counter()
    for manager, kind, block_ref in records:
        filenode = re.search(r"rel \d+/\d+/(\d+)", block_ref)
        relation = names.get(int(filenode.group(1)), "?") if filenode else "?"
        kind = kind.split(" ")[0].split("+")[0]
        if manager == "Btree" and kind.startswith("INSERT"):
            index[tables.get(relation, relation)] += 1
        elif manager == "Heap" and relation in {t for t, _ in WRITES} | {"api_keys"}:
            heap[(relation, f"Heap/{kind}")] += 1
    await _flush_function_stats(desk, database)
    calls_after = {r[0]: (r[1], r[2]) for r in await _walk(desk, functions)}

    print(
        f"\nPostgreSQL work per submission ({release}), mean of {N} (fast path, Idempotency-Key):"
    )
    print(f"  WAL bytes {wal_bytes / N:.0f}; WAL records {len(records) / N:.1f}")
    tick = os.sysconf("SC_CLK_TCK")
    print(f"  backends' CPU {ticks / tick / N * 1000:.2f} ms (load-sensitive, information only)")
    for (table, kind), count in sorted(heap.items()):
        print(f"  {table:22} {kind:18} {count / N:g}")
    for table, count in sorted(index.items()):
        print(f"  {table:22} index entries      {count / N:g}")
    for name in sorted(calls_after):
        calls = calls_after[name][0] - calls_before.get(name, (0, 0.0))[0]
        self_ms = calls_after[name][1] - calls_before.get(name, (0, 0.0))[1]
        if calls:  # N + 1 submissions: the one that opened the pool's connection too
            each = calls / (N + 1)
            print(f"  {name:38} calls {each:g}  self {self_ms / (N + 1) * 1000:.0f} us")

    written: Counter[tuple[str, str]] = Counter()
    for (table, kind), count in heap.items():
        kind = {"Heap/HOT_UPDATE": "Heap/UPDATE", "Heap/HEAP_CONFIRM": ""}.get(kind, kind)
        if kind in {"Heap/INSERT", "Heap/UPDATE"} or (table, kind) in WRITES:
            written[(table, kind)] += count
    assert {key: written[key] / N for key in written} == WRITES
    assert 2 <= index["idempotency_keys"] / N <= 3
    assert {t: index[t] / N for t in INDEX_ENTRIES} == INDEX_ENTRIES
