"""Property tests of the books' formats on random ledger histories: each
file follows its published layout, balances to the cent per journal and per day or
month, and sums per account code to the generic journal's money lines after the account
map; Xero files never exceed their line limit; booking dates are local dates."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.kit.errors import ValidationFailed
from app.settings import Settings
from billing.exports import service
from billing.exports.account_map import load_account_map
from billing.exports.books import Summary
from billing.exports.books_writers import (
    DATEV_COLUMNS,
    DATEV_HEADER_FIELDS,
    QUICKBOOKS_COLUMNS,
    XERO_COLUMNS,
)
from billing.exports.periods import Period
from tests.exports.conftest import parse_csv
from tests.exports.test_export_properties import BOUNDED, history, run_history, text_export

ZONES = ["Europe/Berlin", "America/New_York", "Pacific/Auckland", "UTC"]


def cents(text: str, comma: bool = False) -> int:
    if text == "":
        return 0
    value = Decimal(text.replace(",", ".") if comma else text)
    assert value == value.quantize(Decimal("0.01")), text
    return int(value * 100)


def generic_nets(rows: list[dict[str, str]], settings: Settings) -> dict[str, int]:
    """The generic journal's money lines, per books code after the account map."""
    accounts = load_account_map(settings).accounts
    nets: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["unit"] != "CREDIT":
            nets[accounts[row["account"]].code] += cents(row["debit"]) - cents(row["credit"])
    return {code: net for code, net in nets.items() if net}


def local_dates(rows: list[dict[str, str]], zone: ZoneInfo) -> dict[str, date]:
    """transaction id → its local booking date."""
    return {
        r["transaction_id"]: datetime.fromisoformat(r["posted_at"]).astimezone(zone).date()
        for r in rows
    }


def nonzero(nets: dict[str, int]) -> dict[str, int]:
    return {code: net for code, net in nets.items() if net}


async def xero(
    db: Database, period: Period, settings: Settings, summary: Summary, max_lines: int
) -> list[bytes]:
    account_map = await service.books_account_map(db, period, settings, "xero")
    target = io.BytesIO()
    kind, count = await service.journal_xero(
        db, period, settings, account_map, summary, target, batch_size=7, max_lines=max_lines
    )
    if kind == "csv":
        assert count == 1
        return [target.getvalue()]
    archive = zipfile.ZipFile(target)
    assert len(archive.namelist()) == count > 1
    return [archive.read(name) for name in archive.namelist()]


async def text(
    db: Database, period: Period, settings: Settings, fmt: Any, summary: Summary
) -> bytes:
    account_map = await service.books_account_map(db, period, settings, fmt)
    chunks = service.journal_books_text(
        db, period, fmt, settings, account_map, summary, batch_size=5
    )
    return b"".join([chunk async for chunk in chunks])


def check_xero(files: list[bytes], max_lines: int, dates: dict[str, date]) -> dict[str, int]:
    nets: dict[str, int] = defaultdict(int)
    for data in files:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        assert data.count(b"\r\n") == len(rows) <= max_lines
        assert tuple(rows[0]) == XERO_COLUMNS
        journals: dict[tuple[str, str], int] = defaultdict(int)
        for narration, day, _, code, tax, amount, *tracking in rows[1:]:
            assert re.fullmatch(r"\d\d/\d\d/\d{4}", day) and tax and tracking == [""] * 4
            assert re.fullmatch(r"-?\d+\.\d\d", amount)
            journals[(narration, day)] += cents(amount)
            nets[code] += cents(amount)
            txn = narration.rsplit(" ", 1)[-1]
            if txn in dates:  # one journal per transaction: its local date
                assert day == f"{dates[txn]:%d/%m/%Y}"
        assert set(journals.values()) <= {0}, journals  # every journal, so the file, balances
    return nonzero(nets)


def check_quickbooks(data: bytes, summary: Summary) -> dict[str, int]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == QUICKBOOKS_COLUMNS
    journals: dict[str, int] = defaultdict(int)
    periods: dict[str, int] = defaultdict(int)
    nets: dict[str, int] = defaultdict(int)
    for number, day, name, debits, credits, _, _ in rows[1:]:
        assert len(number) <= 21 and re.fullmatch(r"\d\d/\d\d/\d{4}", day)
        assert (debits == "") != (credits == "")
        net = cents(debits) - cents(credits)
        journals[number] += net
        periods[day if summary != "monthly" else day[:2] + day[5:]] += net
        nets[name] += net
    assert set(journals.values()) <= {0} and set(periods.values()) <= {0}
    return nonzero(nets)


def check_datev(data: bytes, period: Period, zone: ZoneInfo) -> dict[str, int]:
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    header, columns, *rows = csv.reader(
        io.StringIO(data.decode("cp1252"), newline=""), delimiter=";"
    )
    assert len(header) == DATEV_HEADER_FIELDS
    assert header[:5] == ["EXTF", "700", "21", "Buchungsstapel", "13"]
    first = date(int(header[14][:4]), int(header[14][4:6]), int(header[14][6:]))
    last = date(int(header[15][:4]), int(header[15][4:6]), int(header[15][6:]))
    assert first == period.start.astimezone(zone).date() <= last
    assert tuple(columns) == DATEV_COLUMNS
    nets: dict[str, int] = defaultdict(int)
    for row in rows:
        assert len(row) == len(DATEV_COLUMNS)
        umsatz, side, currency, _, _, _, konto, gegenkonto, bu, day, beleg, _, _, text_ = row[:14]
        assert not any(row[14:])
        assert re.fullmatch(r"\d+,\d\d", umsatz) and side == "S" and currency == "EUR"
        assert konto.isdigit() and gegenkonto.isdigit() and bu == ""
        assert re.fullmatch(r"\d{4}", day) and len(beleg) <= 36 and len(text_) <= 60
        assert re.fullmatch(r"[0-9A-Za-z$%&*+\-/]*", beleg)
        booked = date(first.year if int(day[2:]) >= first.month else last.year,
                      int(day[2:]), int(day[:2]))  # fmt: skip
        assert first <= booked <= last
        nets[konto] += cents(umsatz, comma=True)
        nets[gegenkonto] -= cents(umsatz, comma=True)  # a two-sided row balances
    return nonzero(nets)


@BOUNDED
@given(
    steps=history,
    zone=st.sampled_from(ZONES),
    chart=st.sampled_from(["generic", "skr03", "skr04"]),
    summary=st.sampled_from(["none", "daily", "monthly"]),
    max_lines=st.integers(6, 14),  # a journal has at most 4 money lines
    vat=st.sampled_from(["0", "0.19", "0.07"]),
)
async def test_books_files_on_random_histories(
    db: Database,
    clock: FrozenClock,
    settings: Settings,
    steps: list[Any],
    zone: str,
    chart: Any,
    summary: Summary,
    max_lines: int,
    vat: str,
) -> None:
    settings = settings.model_copy(update={"books_timezone": zone, "account_chart": chart})
    snapshots = await run_history(db, clock, steps, Decimal(vat))
    whole = Period(snapshots[0].at, snapshots[-1].at, ZoneInfo(zone))
    generic = parse_csv(await text_export(db, whole, "csv"))
    expected = generic_nets(generic, settings)
    dates = local_dates(generic, ZoneInfo(zone)) if summary == "none" else {}

    assert check_xero(await xero(db, whole, settings, summary, max_lines), max_lines, dates) == (
        expected
    )
    names = load_account_map(settings).accounts
    by_name = {names[a].name: names[a].code for a in names}
    quickbooks = check_quickbooks(await text(db, whole, settings, "quickbooks", summary), summary)
    assert {by_name[name]: net for name, net in quickbooks.items()} == expected
    # DATEV: one fiscal year a batch; the histories span under three years from 2 Nov.
    fy = service.fiscal_year_start(whole.start.astimezone(ZoneInfo(zone)).date(), settings)
    end = min(whole.end, datetime(fy.year + 1, 1, 1, tzinfo=ZoneInfo(zone)))
    year = Period(whole.start, end, ZoneInfo(zone))
    year_generic = parse_csv(await text_export(db, year, "csv"))
    if chart == "generic":  # not a DATEV chart: refused, saying why
        with pytest.raises(ValidationFailed, match="DATEV needs a DATEV chart"):
            await text(db, year, settings, "datev", summary)
        return
    datev = check_datev(await text(db, year, settings, "datev", summary), year, ZoneInfo(zone))
    assert datev == generic_nets(year_generic, settings)
