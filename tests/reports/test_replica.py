"""The reports read from the read replica (`CREDITDESK_READ_REPLICA_URL`, issue 19): the
usage and SLA reports of an app with a replica are those of an app on the replica alone,
the caller's key is checked on the primary, and nothing is written to the replica. The
"replica" is a second PostgreSQL database with its own history (see
tests/exports/test_replica.py)."""

from __future__ import annotations

import pytest

from app.kit.auth import Role
from app.kit.clock import FrozenClock
from tests.conftest import START, Api
from tests.exports.test_replica import (
    answers,
    assert_replica_is_read_only,
    fingerprint,
    history,
    primary_url,
    replica_database,
    replica_url,
    site,
)

__all__ = ["primary_url", "replica_database", "replica_url"]  # fixtures used below

PERIOD = {"from": "2026-11-01", "to": "2026-12-01"}
REPORTS: list[tuple[str, dict[str, str]]] = [
    ("/v1/reports/usage", PERIOD),
    ("/v1/reports/usage", {**PERIOD, "format": "csv"}),
    ("/v1/reports/sla", PERIOD),
    ("/v1/reports/sla", {**PERIOD, "format": "csv"}),
]


async def reports(api: Api, headers: dict[str, str]) -> list[tuple[int, bytes]]:
    return await answers(api, headers, REPORTS)


@pytest.mark.postgres
async def test_reports_read_the_replica_and_write_nothing_there(
    primary_url: str, replica_url: str
) -> None:
    clock = FrozenClock(START)
    async with site(clock, replica_url) as alone:
        theirs = await history(alone, "Replica Co", "five", tickets=2)
        expected = await reports(alone, alone.admin)
    async with site(clock, primary_url) as primary:
        ours = await history(primary, "Primary Co", "single", tickets=1)
        on_primary = await reports(primary, primary.admin)
    assert all(status == 200 for status, _ in expected + on_primary)

    before = await fingerprint(replica_url)
    async with site(clock, primary_url, replica=replica_url) as routed:
        finance = await routed.key(Role.finance)  # a key the replica has never seen
        got = await reports(routed, finance)
        for (path, params), mine, replica, primary_answer in zip(
            REPORTS, got, expected, on_primary, strict=True
        ):
            assert mine == replica, (path, params)
            assert mine != primary_answer, (path, params)
        usage = got[0][1].decode()
        assert theirs in usage and ours not in usage
        await assert_replica_is_read_only(routed.db)
    assert await fingerprint(replica_url) == before
