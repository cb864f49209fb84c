"""Round trips per ticket submission on PostgreSQL, counted on the wire.

Every message exchange between asyncpg and the server goes through the connection's
protocol object (`query` for simple-protocol BEGIN/COMMIT/ROLLBACK, `prepare` for a
statement not yet prepared on that connection, `bind_execute`/`bind_execute_many` for each
execution). The test wraps that object on every pooled connection, so what it counts is
what went over the wire, including a pool pre-ping (BEGIN, `;`, ROLLBACK: gone since
issue 19, see `app.kit.db`) and the prepares of a cold connection, which SQLAlchemy's
`before_cursor_execute` never sees.

It sends two warm-up submissions (statements prepared, caches filled, the customer's
urgent-ticket period open), then counts one `POST /v1/tickets` on the technical line
through the ASGI app, on both paths:

- **fast** (the default on PostgreSQL, app.desk.fast_submit): **one** round trip, the call
  of `desk_submit_ticket_v3` outside any explicit transaction, so the wallet lock is held
  within that one round trip (issue 19's target: at most 4, the lock across at most 2);
- **general** (`fast_submit` off, and whenever the fast path hands a case over): the ORM
  path, pinned at its count so that a change to it is seen.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from tests.desk.conftest import Desk

# The general path's figures (2026-11-30; the pool's pre-ping, now gone, cost 3 more),
# without and with an Idempotency-Key (bench/load sends one): see the printed lists.
# Issue 26 (the charge, the Idempotency-Key's claim and store as one SQL call each): 25 → 21
# and 29 → 23 round trips, 19 → 15 and 20 → 16 under the wallet lock.
GENERAL_ROUND_TRIPS = {False: 21, True: 23}  # the `started` SLA event no longer stored
GENERAL_UNDER_WALLET_LOCK = {False: 15, True: 16}

pytestmark = pytest.mark.postgres


class _CountingProtocol:
    """Forwards everything to asyncpg's protocol; records each round trip."""

    def __init__(self, inner: Any, log: list[str]) -> None:
        self._inner = inner
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def query(self, query: str, timeout: Any) -> Any:
        self._log.append(f"simple  {query}")
        return await self._inner.query(query, timeout)

    async def prepare(self, stmt_name: Any, query: str, timeout: Any, **kw: Any) -> Any:
        self._log.append(f"prepare {query}")
        return await self._inner.prepare(stmt_name, query, timeout, **kw)

    async def bind_execute(self, state: Any, *args: Any, **kw: Any) -> Any:
        self._log.append(f"execute {state.query}")
        return await self._inner.bind_execute(state, *args, **kw)

    async def bind_execute_many(self, state: Any, *args: Any, **kw: Any) -> Any:
        self._log.append(f"many    {state.query}")
        return await self._inner.bind_execute_many(state, *args, **kw)


def _short(sql: str) -> str:
    return " ".join(sql.split())[:150]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "general"])
@pytest.mark.parametrize("with_key", [False, True], ids=["plain", "idempotency-key"])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_round_trips_per_submission(desk: Desk, with_key: bool, fast: bool) -> None:
    desk.api.app.state.settings.fast_submit = fast
    engine = desk.api.db.engine
    log: list[str] = []

    def wrap(dbapi_connection: Any, _record: Any) -> None:
        raw = dbapi_connection._connection  # the asyncpg.Connection under the adapter
        raw._protocol = _CountingProtocol(raw._protocol, log)

    event.listen(engine.sync_engine, "connect", wrap)
    await engine.dispose()  # every pooled connection from now on is a counted one
    person = await desk.person(credits=10)
    keys = iter(range(3))

    def headers() -> dict[str, str]:
        extra = {"Idempotency-Key": f"round-trips-{next(keys)}"} if with_key else {}
        return {**person.headers, **extra}

    for _ in range(2):  # the second submission of a customer is the first of the steady state
        warm = await desk.submit(person, headers=headers())
        assert warm.status_code == 201, warm.text

    log.clear()
    response = await desk.submit(person, headers=headers())
    assert response.status_code == 201, response.text
    trips = list(log)

    print(f"\n{len(trips)} round trips for one POST /v1/tickets (technical line):")
    for n, line in enumerate(trips, 1):
        print(f"{n:3} {_short(line)}")
    assert not any(t.startswith("prepare") for t in trips), "a warm connection prepares nothing"
    if fast:
        assert len(trips) == 1
        assert trips[0].startswith("execute SELECT desk_submit_ticket_v3(")
        return
    locked = next(i for i, t in enumerate(trips) if "FOR UPDATE" in t and "wallets" in t)
    commit = max(i for i, t in enumerate(trips) if t.endswith("COMMIT;") or t.endswith("COMMIT"))
    under_lock = commit - locked + 1
    print(f"wallet lock held across {under_lock} of them ({locked + 1}..{commit + 1})")

    assert len(trips) == GENERAL_ROUND_TRIPS[with_key]
    assert under_lock == GENERAL_UNDER_WALLET_LOCK[with_key]
