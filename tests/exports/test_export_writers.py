"""Formats without a database: money text, the fast CSV path against csv.writer itself,
XLSX details, and export periods."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from app.kit.errors import ValidationFailed
from billing.exports.periods import parse_moment, parse_period
from billing.exports.writers import (
    JOURNAL_COLUMNS,
    JournalCsvLines,
    JournalRowMaker,
    XlsxWriter,
    decimal_string,
    neutralise_formula,
)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (0, "EUR", "0.00"),
        (5, "EUR", "0.05"),
        (10000, "EUR", "100.00"),
        (123456789, "EUR", "1234567.89"),
        (-150, "EUR", "-1.50"),
        (500, "JPY", "500"),
        (1234, "KWD", "1.234"),
    ],
)
def test_money_is_an_exact_decimal_string(amount: int, currency: str, text: str) -> None:
    assert decimal_string(amount, currency) == text


tricky_text = (
    st.text(alphabet=st.sampled_from(list("ab ,\"\r\n=+-@\t'ü€;")), max_size=8) | st.none()
)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
transaction = st.tuples(
    st.sampled_from(["ent_", "ent,", 'ent"', "=ent"]),  # id prefix; a counter follows
    moments,
    st.sampled_from(["grant", "charge", "refund"]),
    tricky_text,  # reason
    st.none() | st.integers(1, 10**6),  # ticket_number
    tricky_text,  # purchase_id
    tricky_text,  # reference
    tricky_text,  # memo
)
line = st.tuples(
    st.sampled_from(["deferred_revenue", "customer:cus_1:available", "odd,account", 'q"']),
    st.sampled_from(["CREDIT", "EUR", "JPY"]),
    st.integers(-(10**9), 10**9),
    tricky_text,  # customer_id
    tricky_text,  # lot_id
)
journal = st.lists(st.tuples(transaction, st.lists(line, min_size=1, max_size=4)), max_size=6)


def db_rows(entries: list[tuple[Any, list[Any]]]) -> list[tuple[Any, ...]]:
    """Rows as the export query returns them: a transaction's columns on each of its lines."""
    rows = []
    for n, (txn, lines) in enumerate(entries):
        prefix, posted_at, kind, reason, ticket_number, purchase_id, reference, memo = txn
        for account, unit, amount, customer_id, lot_id in lines:
            rows.append(
                (f"{prefix}{n}", posted_at, kind, reason, account, unit, amount, customer_id,
                 lot_id, ticket_number, purchase_id, reference, memo)
            )  # fmt: skip
    return rows


def csv_module(rows: list[tuple[Any, ...]]) -> bytes:
    """The reference: csv.writer over the export rows, free text neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    make = JournalRowMaker()
    for r in rows:
        row = list(make(r))
        for i in (11, 12):
            if isinstance(row[i], str):
                row[i] = neutralise_formula(row[i])
        writer.writerow(row)
    return buffer.getvalue().encode()


@settings(max_examples=300, deadline=None)
@given(journal, st.integers(0, 30))
def test_fast_csv_lines_are_what_the_csv_module_writes(
    entries: list[tuple[Any, list[Any]]], split: int
) -> None:
    rows = db_rows(entries)
    lines = JournalCsvLines()
    produced = lines.lines(rows[:split]) + lines.lines(rows[split:])  # batches split anywhere
    assert produced == csv_module(rows)


def test_csv_header_and_formula_neutralising() -> None:
    moment = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)
    rows = [
        ("ent_1", moment, "grant", "purchase", "cash:stripe", "EUR", 10000, "cus_1", "lot_1",
         None, "pur_1", "=HYPERLINK(\"x\")", "+1 line\nline 2"),
    ]  # fmt: skip
    lines = JournalCsvLines()
    data = lines.header() + lines.lines(rows)
    parsed = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert parsed[0] == list(JOURNAL_COLUMNS)
    assert parsed[1] == [
        "ent_1", "2026-11-02T09:00:00.123456Z", "grant:purchase", "cash:stripe", "EUR",
        "100.00", "", "cus_1", "lot_1", "", "pur_1", "'=HYPERLINK(\"x\")", "'+1 line\nline 2",
    ]  # fmt: skip


def test_xlsx_money_cells_control_characters_and_sheet_rollover() -> None:
    writer = XlsxWriter(JOURNAL_COLUMNS, title="journal", max_rows=3)
    make = JournalRowMaker()
    moment = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    rows = [
        make(("ent_1", moment, "charge", "ticket", "deferred_revenue", "EUR", 2000, "cus_1",
              "lot_1", 7, None, None, "bell\x07here")),
        make(("ent_1", moment, "charge", "ticket", "revenue:support", "EUR", -2000, "cus_1",
              "lot_1", 7, None, None, "bell\x07here")),
        make(("ent_1", moment, "charge", "ticket", "credits:consumed", "CREDIT", 1, "cus_1",
              "lot_1", 7, None, None, None)),
    ]  # fmt: skip
    writer.rows(rows)
    target = io.BytesIO()
    writer.save(target, moment)
    book = load_workbook(io.BytesIO(target.getvalue()))
    assert book.sheetnames == ["journal", "journal (2)"]
    first, second = book["journal"], book["journal (2)"]
    assert [c.value for c in first[1]] == list(JOURNAL_COLUMNS)
    assert first["F2"].value == 20 and first["F2"].number_format == "0.00"
    assert first["G3"].value == 20
    assert first["M2"].value == "bell\ufffdhere"
    assert [c.value for c in second[1]] == list(JOURNAL_COLUMNS)
    assert second["F2"].value == 1 and second["D2"].value == "credits:consumed"
    again = io.BytesIO()
    writer2 = XlsxWriter(JOURNAL_COLUMNS, title="journal", max_rows=3)
    writer2.rows(rows)
    writer2.save(again, moment)
    assert again.getvalue() == target.getvalue()


# ---------------------------------------------------------------- periods


def test_periods_accept_dates_and_rfc3339_times() -> None:
    period = parse_period("2026-11-01", "2026-12-01", max_days=400)
    assert period.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 12, 1, tzinfo=UTC)
    assert period.slug() == "2026-11-01_2026-12-01"
    assert parse_moment("2026-11-01T10:00:00Z", "from") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert parse_moment("2026-11-01T12:00:00+02:00", "from") == datetime(
        2026, 11, 1, 10, tzinfo=UTC
    )
    assert parse_moment("2026-11-01T10:00:00", "from") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    empty = parse_period("2026-11-01", "2026-11-01", max_days=1)
    assert empty.start == empty.end


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "field"),
    [
        ("2026-12-01", "2026-11-01", "to"),
        ("yesterday", "2026-11-01", "from"),
        ("2026-11-01", "2026-13-01", "to"),
        ("2026-11-01", "9999-12-31T23:59:59-14:00", "to"),
        (None, "2026-11-01", "from"),
        ("2026-11-01", "", "to"),
        ("2020-01-01", "2026-01-01", "to"),
    ],
)
def test_bad_periods_are_refused(raw_from: str | None, raw_to: str | None, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_period(raw_from, raw_to, max_days=400)
    assert caught.value.field == field


def test_the_length_limit_is_inclusive() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ok = parse_period(start.isoformat(), (start + timedelta(days=31)).isoformat(), max_days=31)
    assert ok.end - ok.start == timedelta(days=31)
    with pytest.raises(ValidationFailed):
        parse_period(
            start.isoformat(), (start + timedelta(days=31, seconds=1)).isoformat(), max_days=31
        )
