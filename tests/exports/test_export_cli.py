"""`creditdesk export …` against a real database."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from app.cli import main
from app.kit.clock import FrozenClock
from app.kit.db import Database
from billing.exports import service
from billing.exports.periods import Period
from tests.conftest import START, assert_reconciles
from tests.exports.conftest import Driver, parse_csv

PERIOD = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


async def history(url: str) -> str:
    db = Database(url, pool_size=2)
    try:
        clock = FrozenClock(START)
        driver = Driver(db, clock)
        customer = await driver.customer()
        await driver.buy(customer, pack=1)
        clock.advance(timedelta(hours=1))
        await driver.charge(customer)
        await assert_reconciles(db)
        return customer
    finally:
        await db.dispose()


async def service_csv(url: str) -> bytes:
    db = Database(url, pool_size=2)
    try:
        return b"".join([c async for c in service.journal_text(db, PERIOD, "csv")])
    finally:
        await db.dispose()


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", database_url)
    return CliRunner()


def test_journal_to_a_file_is_the_api_export(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    asyncio.run(history(database_url))
    target = tmp_path / "journal.csv"
    args = ["export", "journal", "--from", "2026-11-01", "--to", "2026-12-01"]
    result = cli.invoke(main, [*args, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "exported 8 journal line(s)" in result.stderr
    assert target.read_bytes() == asyncio.run(service_csv(database_url))
    assert not (tmp_path / "journal.csv.partial").exists()
    assert len(parse_csv(target.read_bytes())) == 8

    to_stdout = cli.invoke(main, args)
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes == target.read_bytes()

    xlsx = tmp_path / "journal.xlsx"
    assert cli.invoke(main, [*args, "--format", "xlsx", "-o", str(xlsx)]).exit_code == 0
    sheet = load_workbook(io.BytesIO(xlsx.read_bytes()), read_only=True)["journal"]
    assert len(list(sheet.iter_rows(values_only=True))) == 9


def test_deferred_revenue_and_statement(cli: CliRunner, database_url: str) -> None:
    customer = asyncio.run(history(database_url))
    period = ["--from", "2026-11-01", "--to", "2026-12-01"]
    result = cli.invoke(main, ["export", "deferred-revenue", *period])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (
        report["money"][0]["closing"] == {"amount": 8000, "currency": "EUR"}
        and report["credits"]["closing"] == 4
    )
    as_csv = cli.invoke(main, ["export", "deferred-revenue", *period, "--format", "csv"])
    assert "closing,EUR,80.00,4" in as_csv.stdout

    statement = cli.invoke(main, ["export", "statement", customer])
    assert statement.exit_code == 0, statement.output
    assert [r["kind"] for r in parse_csv(statement.stdout_bytes)] == ["grant", "charge"]
    missing = cli.invoke(main, ["export", "statement", "cus_missing"])
    assert missing.exit_code == 1 and "no such customer" in missing.output


def test_bad_periods_are_usage_errors(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "journal.csv"
    result = cli.invoke(
        main,
        ["export", "journal", "--from", "2026-12-01", "--to", "2026-11-01", "-o", str(target)],
    )
    assert result.exit_code == 2
    assert "`to` is before `from`" in result.output
    assert not target.exists()
    garbage = cli.invoke(main, ["export", "deferred-revenue", "--from", "x", "--to", "y"])
    assert garbage.exit_code == 2


def test_books_formats_from_the_command(
    cli: CliRunner, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(history(database_url))
    args = ["export", "journal", "--from", "2026-11-01", "--to", "2026-12-01"]
    xero = tmp_path / "nov.csv"
    result = cli.invoke(main, [*args, "--format", "xero", "--summary", "daily", "-o", str(xero)])
    assert result.exit_code == 0, result.output
    assert "exported one Xero file" in result.stderr
    lines = xero.read_bytes().decode().splitlines()
    assert lines[0].startswith("*Narration,*Date") and len(lines) == 5  # 2 pairs, 2 lines each
    assert all(",02/11/2026," in line for line in lines[1:])
    refused = cli.invoke(main, [*args, "--format", "datev"])  # the generic chart
    assert refused.exit_code != 0 and "DATEV needs a DATEV chart" in refused.output
    monkeypatch.setenv("CREDITDESK_ACCOUNT_CHART", "skr04")
    datev = cli.invoke(main, [*args, "--format", "datev"])
    assert datev.exit_code == 0, datev.output
    assert datev.stdout_bytes.startswith(b'"EXTF";700;21;"Buchungsstapel";13;')
    assert cli.invoke(main, [*args, "--summary", "daily"]).exit_code == 2  # csv: no summary
    mapping = tmp_path / "map.json"
    mapping.write_text('{"chart": "none", "accounts": {}}')
    monkeypatch.setenv("CREDITDESK_ACCOUNT_MAP_FILE", str(mapping))
    refused = cli.invoke(main, [*args, "--format", "quickbooks"])
    assert refused.exit_code == 1
    assert "No books account is mapped for: cash:stripe, deferred_revenue" in refused.stderr
