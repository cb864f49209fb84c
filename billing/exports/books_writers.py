"""BookJournal → the import files of Xero, QuickBooks Online and DATEV.

- Xero manual journals (CSV, UTF-8): `*Narration, *Date (dd/mm/yyyy), Description,
  *AccountCode, *TaxRate, *Amount (+ debit, − credit)` and two empty tracking pairs; a
  journal is the rows sharing narration and date; at most 300 lines a file.
- QuickBooks Online journal entries (CSV, UTF-8): `JournalNo, JournalDate, AccountName,
  Debits, Credits, Description, Name`; rows sharing `JournalNo` are one entry.
- DATEV Buchungsstapel (EXTF 700, category 21, version 13): the 31-field header record,
  the column names, one row per booking (account against contra account); semicolons,
  CRLF, Windows-1252, decimal comma, no sign (the Soll/Haben-Kennzeichen says it)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime

from billing.exports.books import BookJournal
from billing.exports.writers import decimal_string

# ---------------------------------------------------------------- Xero

XERO_COLUMNS = (
    "*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount",
    "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2",
)  # fmt: skip
XERO_MAX_LINES = 300  # Xero imports at most 300 lines a file; the header counts here too


class XeroFiles:
    """Journals → Xero CSV files of at most `max_lines` lines (header included), a journal
    never split across two files, so that each file balances on its own."""

    def __init__(self, tax_rate: str, max_lines: int = XERO_MAX_LINES) -> None:
        self._tax_rate = tax_rate
        self._max_rows = max_lines - 1
        self._days = _Dates("%d/%m/%Y")
        self._money = _Amounts()
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        self._rows = 0
        self.files: list[bytes] = []  # finished files, taken by the caller

    def add(self, journals: Iterable[BookJournal]) -> None:
        for journal in journals:
            if len(journal.lines) > self._max_rows:
                raise ValueError(f"journal {journal.number} has more lines than a Xero file")
            if self._rows and self._rows + len(journal.lines) > self._max_rows:
                self._close_file()
            if self._rows == 0:
                self._csv.writerow(XERO_COLUMNS)
            day = self._days.text(journal.day)
            narration = _text(journal.narration)
            texts: dict[str, str] = {}
            money = self._money.text
            self._csv.writerows(
                (narration, day, texts.get(line.description) or texts.setdefault(
                    line.description, _text(line.description)), line.code, self._tax_rate,
                 money(line.amount, journal.currency), "", "", "", "")
                for line in journal.lines
            )  # fmt: skip
            self._rows += len(journal.lines)

    def finish(self) -> None:
        if self._rows or not self.files:
            if self._rows == 0:
                self._csv.writerow(XERO_COLUMNS)
            self._close_file()

    def _close_file(self) -> None:
        self.files.append(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()
        self._rows = 0


# ---------------------------------------------------------------- QuickBooks Online

QUICKBOOKS_COLUMNS = (
    "JournalNo", "JournalDate", "AccountName", "Debits", "Credits", "Description", "Name",
)  # fmt: skip
_QUICKBOOKS_DATES = {"MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y"}


class QuickBooksWriter:
    def __init__(self, date_format: str) -> None:
        self._days = _Dates(_QUICKBOOKS_DATES[date_format])
        self._money = _Amounts()
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")

    def header(self) -> bytes:
        self._csv.writerow(QUICKBOOKS_COLUMNS)
        return self._drain()

    def rows(self, journals: Iterable[BookJournal]) -> bytes:
        money = self._money.text
        for journal in journals:
            day = self._days.text(journal.day)
            currency = journal.currency
            description = ""
            last = None
            rows = []
            for line in journal.lines:
                if line.description is not last:
                    last, description = line.description, _text(line.description)
                size = money(abs(line.amount), currency)
                rows.append(
                    (journal.number, day, line.name, size if line.amount > 0 else "",
                     size if line.amount < 0 else "", description, "")
                )  # fmt: skip
            self._csv.writerows(rows)
        return self._drain()

    def _drain(self) -> bytes:
        data = self._buffer.getvalue().encode("utf-8")
        self._buffer.seek(0)
        self._buffer.truncate()
        return data


# ---------------------------------------------------------------- DATEV

DATEV_ENCODING = "cp1252"
DATEV_HEADER_FIELDS = 31
# The column heading line of the Buchungsstapel (EXTF 700, category 21, version 13): all
# 125 columns, in DATEV's order and spelling, as DATEV's own sample file heads them. The
# rows fill the first 14 and leave the rest empty, so every row has 125 fields too.
DATEV_COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs",
    "Basis-Umsatz", "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel", "Belegdatum", "Belegfeld 1", "Belegfeld 2", "Skonto", "Buchungstext",
    "Postensperre", "Diverse Adressnummer", "Geschäftspartnerbank", "Sachverhalt",
    "Zinssperre", "Beleglink",
    *(f"Beleginfo - {part} {n}" for n in range(1, 9) for part in ("Art", "Inhalt")),
    "KOST1 - Kostenstelle", "KOST2 - Kostenstelle", "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)", "EU-Steuersatz (Bestimmung)", "Abw. Versteuerungsart",
    "Sachverhalt L+L", "Funktionsergänzung L+L", "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer", "BU 49 Funktionsergänzung",
    *(
        name
        for n in range(1, 21)
        for name in (f"Zusatzinformation - Art {n}", f"Zusatzinformation- Inhalt {n}")
    ),
    "Stück", "Gewicht", "Zahlweise", "Forderungsart", "Veranlagungsjahr",
    "Zugeordnete Fälligkeit", "Skontotyp", "Auftragsnummer", "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)", "EU-Land (Anzahlungen)", "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)", "Erlöskonto (Anzahlungen)", "Herkunft-Kz",
    "Buchungs GUID", "KOST-Datum", "SEPA-Mandatsreferenz", "Skontosperre",
    "Gesellschaftername", "Beteiligtennummer", "Identifikationsnummer", "Zeichnernummer",
    "Postensperre bis", "Bezeichnung SoBil-Sachverhalt", "Kennzeichen SoBil-Buchung",
    "Festschreibung", "Leistungsdatum", "Datum Zuord. Steuerperiode", "Fälligkeit",
    "Generalumkehr (GU)", "Steuersatz", "Land", "Abrechnungsreferenz", "BVV-Position",
    "EU-Land u. UStID (Ursprung)", "EU-Steuersatz (Ursprung)", "Abw. Skontokonto",
)  # fmt: skip
DATEV_FILLED_COLUMNS = 14  # up to Buchungstext
_UNFILLED = ";" * (len(DATEV_COLUMNS) - DATEV_FILLED_COLUMNS)
# The DATEV standard charts, by the header's Sachkontenrahmen code.
DATEV_CHARTS = {"skr03": "03", "skr04": "04"}
_BELEGFELD = re.compile(r"[^0-9A-Za-z$%&*+\-/]")


def _datev_text(value: str, limit: int) -> str:
    """A DATEV text field: quoted, quotes doubled, one line, cut to `limit` characters."""
    value = " ".join(value.split())[:limit]
    return '"' + value.replace('"', '""') + '"'


class DatevWriter:
    def __init__(
        self,
        *,
        adviser: int,
        client: int,
        fiscal_year_start: date,
        account_length: int,
        first_day: date,
        last_day: date,
        label: str,
        currency: str,
        chart: str | None,
        created: datetime,
    ) -> None:
        self._fields = [
            '"EXTF"', "700", "21", '"Buchungsstapel"', "13",
            created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}",
            "", '"RE"', '"CreditDesk"', '""', str(adviser), str(client),
            f"{fiscal_year_start:%Y%m%d}", str(account_length),
            f"{first_day:%Y%m%d}", f"{last_day:%Y%m%d}", _datev_text(label, 30), '""',
            "1", "0", "0", f'"{currency}"', "", '""', "", "",
            f'"{DATEV_CHARTS.get(chart or "", "")}"', "", "", '""', '""',
        ]  # fmt: skip
        assert len(self._fields) == DATEV_HEADER_FIELDS
        self._days = _Dates("%d%m")
        self._money = _Amounts()

    def header(self) -> bytes:
        columns = ";".join(DATEV_COLUMNS)  # DATEV's sample heads them without quotes
        return (";".join(self._fields) + "\r\n" + columns + "\r\n").encode(DATEV_ENCODING)

    def rows(self, journals: Iterable[BookJournal]) -> bytes:
        out: list[str] = []
        money = self._money.text
        for journal in journals:
            day = self._days.text(journal.day)
            reference = _datev_text(_BELEGFELD.sub("", journal.reference), 36)
            text = _datev_text(journal.narration, 60)
            currency = f'"{journal.currency}"'
            for debit, credit, amount in journal.pairs():
                umsatz = money(amount, journal.currency).replace(".", ",")
                out.append(
                    f'{umsatz};"S";{currency};;;;{debit.code};{credit.code};"";{day};'
                    f'{reference};"";;{text}{_UNFILLED}\r\n'
                )
        return "".join(out).encode(DATEV_ENCODING, errors="replace")


class _Dates:
    """date → text in one format, remembering the last (journals come in date order)."""

    __slots__ = ("_format", "_last", "_text")

    def __init__(self, fmt: str) -> None:
        self._format = fmt
        self._last: date | None = None
        self._text = ""

    def text(self, day: date) -> str:
        if day != self._last:
            self._last, self._text = day, day.strftime(self._format)
        return self._text


class _Amounts:
    """Minor units → decimal text, cached (prices and unit values repeat)."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], str] = {}

    def text(self, amount: int, currency: str) -> str:
        key = (amount, currency)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            found = self._cache[key] = decimal_string(amount, currency)
        return found


def _text(value: str) -> str:
    """One line of text for a spreadsheet-like importer (no formula start)."""
    value = " ".join(value.split())
    return "'" + value if value.startswith(("=", "+", "-", "@")) else value


__all__ = [
    "DATEV_CHARTS",
    "DATEV_COLUMNS",
    "DATEV_ENCODING",
    "DATEV_HEADER_FIELDS",
    "QUICKBOOKS_COLUMNS",
    "XERO_COLUMNS",
    "XERO_MAX_LINES",
    "DatevWriter",
    "QuickBooksWriter",
    "XeroFiles",
]
