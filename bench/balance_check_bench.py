"""The journal's balance check, v1 (migration 0002: one check per line) against v2
(migration 0022: one per transaction), timed inside PostgreSQL (issue 30).

Against a migrated database (both functions are installed from 0022 on), it posts `--rounds`
times `--transactions` journal transactions of four lines each (a paid charge's shape) per
database transaction, under each version of the trigger in turn, interleaved, and prints the
trigger function's calls and self time per journal transaction from
`pg_stat_user_functions`. The check runs at commit, so what it posts stays (customer-less
transactions that balance): run it on a scratch database only.

Run: .venv/bin/python bench/balance_check_bench.py postgresql://…/scratch
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

import asyncpg

POST = """
WITH txn AS (
    INSERT INTO journal_transactions (id, kind, credits, posted_at)
    SELECT 'ent_bench_' || $1 || '_' || n, 'charge', -1, now()
      FROM generate_series(1, $2) AS n
    RETURNING seq
)
INSERT INTO journal_lines (transaction_seq, account, unit, amount)
SELECT txn.seq, line.account, line.unit, line.amount FROM txn
 CROSS JOIN (VALUES ('credits:consumed', 'CREDIT', 1), ('customer:x:available', 'CREDIT', -1),
                    ('deferred_revenue', 'EUR', 1200), ('revenue:support', 'EUR', -1200))
       AS line(account, unit, amount)
 ORDER BY txn.seq
"""


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dsn")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--transactions", type=int, default=50)
    args = parser.parse_args()
    functions = ("journal_transaction_check_balance", "journal_transaction_check_balance_v2")
    totals = {f: [0, 0.0] for f in functions}
    run = uuid.uuid4().hex[:8]
    for round_ in range(args.rounds):
        for function in functions:
            conn = await asyncpg.connect(args.dsn)
            await conn.execute("SET track_functions = 'all'")
            async with conn.transaction():
                await conn.execute("DROP TRIGGER journal_lines_balanced ON journal_lines")
                await conn.execute(
                    "CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON "
                    "journal_lines DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                    f"EXECUTE FUNCTION {function}()"
                )
            before = await _stats(conn, function)
            async with conn.transaction():
                await conn.execute(POST, f"{run}_{round_}_{function[-2:]}", args.transactions)
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT 1")
            after = await _stats(conn, function)
            totals[function][0] += after[0] - before[0]
            totals[function][1] += after[1] - before[1]
            await conn.close()
    await _restore(args.dsn)
    count = args.rounds * args.transactions
    for function, (calls, self_ms) in totals.items():
        print(
            f"{function}: {calls / count:g} calls and {self_ms / count * 1000:.1f} us "
            f"per 4-line journal transaction ({count} transactions)"
        )


async def _stats(conn: asyncpg.Connection, function: str) -> tuple[int, float]:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    row = await conn.fetchrow(
        "SELECT calls, self_time FROM pg_stat_user_functions WHERE funcname = $1", function
    )
    return (row["calls"], row["self_time"]) if row else (0, 0.0)


async def _restore(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    async with conn.transaction():
        await conn.execute("DROP TRIGGER journal_lines_balanced ON journal_lines")
        await conn.execute(
            "CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION journal_transaction_check_balance_v2()"
        )
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
