"""The sample files in docs/samples (shown in docs/exports.md) are what the code writes for
a small December history (VAT 19 %): they are regenerated here and must match, so the
docs stay true. `UPDATE_SAMPLES=1 pytest tests/exports/test_books_samples.py` rewrites
them."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from billing.exports.account_map import CHARTS, AccountMap
from billing.exports.books import BookJournals, Summary
from billing.exports.books_writers import DatevWriter, QuickBooksWriter, XeroFiles
from billing.exports.periods import parse_period

DOCS = Path(__file__).resolve().parents[2] / "docs"
BERLIN = ZoneInfo("Europe/Berlin")
PERIOD = parse_period("2026-12-01", "2027-01-01", max_days=None, zone=BERLIN)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


CUSTOMER = "cus_01kbdemo0000000000000000"
# (seq, id, posted_at, kind, reason, account, unit, amount, customer, ticket): money lines
ROWS = [
    (101, "ent_01kbsale000000000000000000", at("2026-11-30T23:30:00Z"), "grant", "purchase",
     "cash:stripe", "EUR", 10000, CUSTOMER, None),
    (101, "ent_01kbsale000000000000000000", at("2026-11-30T23:30:00Z"), "grant", "purchase",
     "deferred_revenue", "EUR", -8403, CUSTOMER, None),
    (101, "ent_01kbsale000000000000000000", at("2026-11-30T23:30:00Z"), "grant", "purchase",
     "vat:payable", "EUR", -1597, CUSTOMER, None),
    (102, "ent_01kbcharge0000000000000000", at("2026-12-02T10:00:00Z"), "charge", "ticket",
     "deferred_revenue", "EUR", 1681, CUSTOMER, 42),
    (102, "ent_01kbcharge0000000000000000", at("2026-12-02T10:00:00Z"), "charge", "ticket",
     "revenue:support", "EUR", -1681, CUSTOMER, 42),
    (103, "ent_01kbcharge1000000000000000", at("2026-12-02T11:00:00Z"), "charge", "ticket",
     "deferred_revenue", "EUR", 1681, CUSTOMER, 43),
    (103, "ent_01kbcharge1000000000000000", at("2026-12-02T11:00:00Z"), "charge", "ticket",
     "revenue:support", "EUR", -1681, CUSTOMER, 43),
]  # fmt: skip


def journals(chart: str, summary: Summary = "none") -> list:  # type: ignore[type-arg]
    books = BookJournals(AccountMap(CHARTS[chart], chart, None), BERLIN, summary, PERIOD)
    return books.feed(ROWS) + books.finish()


def samples() -> dict[str, bytes]:
    xero = XeroFiles("Tax Exempt")
    xero.add(journals("generic"))
    xero.finish()
    xero_monthly = XeroFiles("Tax Exempt")
    xero_monthly.add(journals("generic", "monthly"))
    xero_monthly.finish()
    quickbooks = QuickBooksWriter("MM/DD/YYYY")
    datev = DatevWriter(
        adviser=1001, client=1, fiscal_year_start=datetime(2026, 1, 1).date(),
        account_length=4, first_day=datetime(2026, 12, 1).date(),
        last_day=datetime(2026, 12, 31).date(), label="CreditDesk 01.12.-31.12.2026",
        currency="EUR", chart="skr03", created=datetime(2027, 1, 1, 1, 0, tzinfo=BERLIN),
    )  # fmt: skip
    return {
        "xero.csv": xero.files[0],
        "xero_monthly.csv": xero_monthly.files[0],
        "quickbooks.csv": quickbooks.header() + quickbooks.rows(journals("generic")),
        "EXTF_Buchungsstapel.csv": datev.header() + datev.rows(journals("skr03")),
    }


@pytest.mark.parametrize("name", sorted(samples()))
def test_sample_files_are_what_the_code_writes(name: str) -> None:
    data = samples()[name]
    path = DOCS / "samples" / name
    if os.environ.get("UPDATE_SAMPLES"):
        path.write_bytes(data)
    assert path.read_bytes() == data, f"docs/samples/{name} is stale (UPDATE_SAMPLES=1)"
    encoding = "cp1252" if name.startswith("EXTF") else "utf-8"
    shown = io.StringIO(data.decode(encoding), newline="").read().replace("\r\n", "\n")
    assert shown in (DOCS / "exports.md").read_text(encoding="utf-8"), f"{name} not in docs"
