"""Rows to bytes: CSV (RFC 4180, UTF-8, header), JSON Lines and XLSX (openpyxl write-only).

A journal row is a tuple in `JOURNAL_COLUMNS` order holding `str`, `int` (credits) or None;
money is already a decimal string. Every writer is deterministic: the same rows give the
same bytes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any, Literal

from app.kit.clock import rfc3339
from app.kit.money import decimal_string, minor_units

Format = Literal["csv", "jsonl", "xlsx"]
Value = str | int | None
Row = tuple[Value, ...]

JOURNAL_COLUMNS = (
    "transaction_id",
    "posted_at",
    "event",
    "account",
    "unit",
    "debit",
    "credit",
    "customer_id",
    "lot_id",
    "ticket_number",
    "purchase_id",
    "reference",
    "memo",
)
MONEY_COLUMNS = frozenset({"debit", "credit"})
CREDIT_UNIT = "CREDIT"

CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def quantity(amount: int, unit: str) -> str | int:
    """Credits stay integers; money becomes a decimal string."""
    return amount if unit == CREDIT_UNIT else decimal_string(amount, unit)


def event_name(kind: str, reason: str | None) -> str:
    """`kind:reason` (`grant:purchase`, `refund:product_bug`), or `kind` alone when there is
    no reason or it only repeats the kind."""
    return kind if not reason or reason == kind else f"{kind}:{reason}"


class JournalRowMaker:
    """Database row → export row. Remembers the last transaction's time text, since a
    transaction's lines come together and formatting a datetime is the costly part."""

    __slots__ = ("_last_moment", "_last_text")

    def __init__(self) -> None:
        self._last_moment: datetime | None = None
        self._last_text = ""

    def __call__(self, r: Sequence[Any]) -> Row:
        (txn_id, posted_at, kind, reason, account, unit, amount, customer_id, lot_id,
         ticket_number, purchase_id, reference, memo) = r[:13]  # fmt: skip
        if posted_at != self._last_moment:
            self._last_moment = posted_at
            self._last_text = rfc3339(posted_at)
        if unit == CREDIT_UNIT:
            debit: Value = amount if amount > 0 else None
            credit: Value = -amount if amount < 0 else None
        else:
            debit = decimal_string(amount, unit) if amount > 0 else None
            credit = decimal_string(-amount, unit) if amount < 0 else None
        return (
            txn_id, self._last_text, event_name(kind, reason), account, unit, debit, credit,
            customer_id, lot_id, ticket_number, purchase_id, reference, memo,
        )  # fmt: skip


_NEEDS_QUOTING = re.compile(r'["\r\n]').search
_QUANTITY_CACHE = 4096  # formatted amounts kept: prices and unit values repeat


class JournalCsvLines:
    """Database rows → journal CSV text, fast. The bytes are those of `csv.writer` (RFC 4180
    quoting, CRLF) over `JournalRowMaker`'s rows with `neutralise_formula` on the free-text
    columns, which stays the reference: a row with a character that needs quoting is written
    by `csv.writer` itself, and every other row is one f-string, which is what `csv.writer`
    would write for it (the tests check this on random text). The journal export spends its
    time here, per line, so it is worth the care."""

    __slots__ = ("_buffer", "_quantities", "_txn", "_writer")

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._quantities: dict[tuple[int, str], str] = {}
        self._txn: tuple[str, str, str] = ("", "", "")

    def header(self) -> bytes:
        return CsvWriter(JOURNAL_COLUMNS).header()

    def lines(self, rows: Iterable[Sequence[Any]]) -> bytes:
        quantities = self._quantities
        out: list[str] = []
        append = out.append
        txn_id, before, after = self._txn
        for r in rows:
            if r[0] != txn_id:  # a transaction's lines come together: its columns once
                txn_id, before, after = self._txn = self._transaction_parts(r)
            account, unit, amount, customer_id, lot_id = r[4:9]
            key = (amount, unit)
            quantity_text = quantities.get(key)
            if quantity_text is None:
                size = amount if amount > 0 else -amount
                quantity_text = str(size) if unit == CREDIT_UNIT else decimal_string(size, unit)
                if len(quantities) >= _QUANTITY_CACHE:
                    quantities.clear()
                quantities[key] = quantity_text
            if amount > 0:
                debit, credit = quantity_text, ""
            elif amount < 0:
                debit, credit = "", quantity_text
            else:
                debit = credit = ""
            middle = f"{account},{unit},{debit},{credit},{customer_id or ''},{lot_id or ''}"
            if middle.count(",") != 5 or '"' in middle or "\n" in middle or "\r" in middle:
                middle = self._csv_fields(account, unit, debit, credit, customer_id, lot_id)
            append(before + middle + after)
        if not out:
            return b""
        out.append("")
        return "\r\n".join(out).encode("utf-8")

    def _transaction_parts(self, r: Sequence[Any]) -> tuple[str, str, str]:
        """(id, the line's text before `account`, its text after `lot_id`)."""
        (txn_id, posted_at, kind, reason, _, _, _, _, _, ticket_number, purchase_id,
         reference, memo) = r[:13]  # fmt: skip
        posted = rfc3339(posted_at)
        event = kind if not reason or reason == kind else f"{kind}:{reason}"
        if reference and reference.startswith(_FORMULA_START):
            reference = "'" + reference
        if memo and memo.startswith(_FORMULA_START):
            memo = "'" + memo
        before = f"{txn_id},{posted},{event}"
        if before.count(",") != 2 or _NEEDS_QUOTING(before):
            before = self._csv_fields(txn_id, posted, event)
        after = (
            f"{'' if ticket_number is None else ticket_number},{purchase_id or ''},"
            f"{reference or ''},{memo or ''}"
        )
        if after.count(",") != 3 or _NEEDS_QUOTING(after):
            after = self._csv_fields(ticket_number, purchase_id, reference, memo)
        return txn_id, before + ",", "," + after

    def _csv_fields(self, *fields: Any) -> str:
        """Fields that need quoting, written by csv.writer (quoting is decided field by
        field, so a group written alone reads the same inside the whole line)."""
        self._writer.writerow(fields)
        text = self._buffer.getvalue()[:-2]  # less the writer's CRLF
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


# ---------------------------------------------------------------- CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """Free text that a spreadsheet would run as a formula gets a leading apostrophe
    (OWASP "CSV injection"); ids, amounts and times never start with these characters."""
    return "'" + value if value.startswith(_FORMULA_START) else value


class CsvWriter:
    """Batches of rows → UTF-8 bytes. `text_columns` are neutralised against formulas."""

    def __init__(self, columns: Sequence[str], text_columns: Iterable[str] = ()) -> None:
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        self._text_positions = [i for i, c in enumerate(columns) if c in set(text_columns)]
        self._csv.writerow(columns)

    def header(self) -> bytes:
        return self._drain()

    def rows(self, rows: Iterable[Row]) -> bytes:
        if self._text_positions:
            rows = (self._neutralised(row) for row in rows)
        self._csv.writerows(rows)
        return self._drain()

    def _neutralised(self, row: Row) -> Row:
        values = list(row)
        for i in self._text_positions:
            value = values[i]
            if isinstance(value, str) and value.startswith(_FORMULA_START):
                values[i] = "'" + value
        return tuple(values)

    def _drain(self) -> bytes:
        data = self._buffer.getvalue().encode("utf-8")
        self._buffer.seek(0)
        self._buffer.truncate()
        return data


# ---------------------------------------------------------------- JSON Lines


class JsonLinesWriter:
    def __init__(self, columns: Sequence[str]) -> None:
        self._columns = tuple(columns)

    def header(self) -> bytes:
        return b""

    def rows(self, rows: Iterable[Row]) -> bytes:
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        columns = self._columns
        return "".join(dumps(dict(zip(columns, row, strict=True))) + "\n" for row in rows).encode(
            "utf-8"
        )


# ---------------------------------------------------------------- XLSX

XLSX_MAX_ROWS = 1_048_576  # a sheet's limit, header included; more rows go to a next sheet
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class XlsxWriter:
    """openpyxl's write-only workbook: rows go to a temporary file as they come, so memory
    does not grow with the period. Money cells are numbers written from `Decimal` with a
    two-decimal format; ids and times are text; a cell never holds a formula."""

    def __init__(self, columns: Sequence[str], title: str, max_rows: int = XLSX_MAX_ROWS) -> None:
        from openpyxl import Workbook

        self._max_rows = max_rows
        self._workbook = Workbook(write_only=True)
        self._columns = tuple(columns)
        self._money = [i for i, c in enumerate(columns) if c in MONEY_COLUMNS]
        self._title = title
        self._sheets = 0
        self._rows_in_sheet = max_rows

    def rows(self, rows: Iterable[Row]) -> None:
        from openpyxl.cell import WriteOnlyCell

        for row in rows:
            if self._rows_in_sheet >= self._max_rows:
                self._new_sheet()
            values: list[Any] = [
                _ILLEGAL_XML.sub("\ufffd", v) if isinstance(v, str) else v for v in row
            ]
            unit = values[4] if len(values) > 4 else CREDIT_UNIT
            if unit != CREDIT_UNIT:
                for i in self._money:
                    if values[i] is not None:
                        cell = WriteOnlyCell(self._sheet, value=Decimal(values[i]))
                        cell.number_format = "0." + "0" * minor_units(str(unit))
                        values[i] = cell
            self._sheet.append(values)
            self._rows_in_sheet += 1

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = self._title if self._sheets == 1 else f"{self._title} ({self._sheets})"
        self._sheet = self._workbook.create_sheet(name)
        self._sheet.append(list(self._columns))
        self._rows_in_sheet = 1

    def save(self, target: IO[bytes], as_of: datetime) -> None:
        """Writes the workbook; `as_of` stands in for the creation and modification times
        (and the zip members' times), so that the same rows always give the same bytes."""
        from openpyxl.writer.excel import ExcelWriter

        if self._sheets == 0:
            self._new_sheet()
        stamp = as_of.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        self._workbook.properties.created = stamp
        self._workbook.properties.modified = stamp
        with _ReproducibleZip(target, stamp) as archive:
            ExcelWriter(self._workbook, archive).save()


class _ReproducibleZip(zipfile.ZipFile):
    """A zip whose members all carry one fixed time instead of the wall clock."""

    def __init__(self, target: IO[bytes], stamp: datetime) -> None:
        super().__init__(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        year = max(stamp.year, 1980)  # the zip format starts in 1980
        self._stamp = (year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(  # type: ignore[override]
        self, zinfo_or_arcname: str | zipfile.ZipInfo, data: str | bytes, *args: Any, **kw: Any
    ) -> None:
        name = zinfo_or_arcname if isinstance(zinfo_or_arcname, str) else zinfo_or_arcname.filename
        super().writestr(self._info(name), data, *args, **kw)

    def write(  # type: ignore[override]
        self, filename: str, arcname: str | None = None, *args: Any, **kw: Any
    ) -> None:
        info = self._info(arcname or os.path.basename(filename))
        info.file_size = os.path.getsize(filename)
        with open(filename, "rb") as source, self.open(info, "w") as member:
            shutil.copyfileobj(source, member, 1 << 20)


def xlsx_money(value: Any, unit: str) -> str | None:
    """Reads an XLSX money cell back as the decimal string the other formats carry."""
    if value is None:
        return None
    exponent = minor_units(unit)
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-exponent)))


__all__ = [
    "CONTENT_TYPES",
    "JOURNAL_COLUMNS",
    "CsvWriter",
    "Format",
    "JournalRowMaker",
    "JsonLinesWriter",
    "Row",
    "XlsxWriter",
    "decimal_string",
    "event_name",
    "neutralise_formula",
    "quantity",
    "rfc3339",
    "xlsx_money",
]
