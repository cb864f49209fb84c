"""The journal as the books see it: money lines only, accounts through the account map,
booking dates local in the books' time zone, one balanced journal per transaction or, with
a summary, one per day or month and account pair.

`BookJournals` turns the journal's rows (in posting order, a transaction's lines
together) into journals as they come, holding one transaction (or one day's or month's
sums per account pair) at a time, so that memory does not grow with the period."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from billing.exports.account_map import AccountMap, BookAccount
from billing.exports.periods import Period
from billing.exports.writers import event_name

Summary = Literal["none", "daily", "monthly"]
SUMMARIES: tuple[Summary, ...] = ("none", "daily", "monthly")
NUMBER_MAX = 21  # QuickBooks Online's journal number


@dataclass(slots=True)
class BookLine:
    code: str
    name: str
    amount: int  # minor units, debit positive
    description: str


@dataclass(slots=True)
class BookJournal:
    """One balanced journal: `number` ≤ 21 characters (QuickBooks), `reference` only of
    the characters DATEV takes in Belegfeld 1 (≤ 36)."""

    number: str
    day: date
    narration: str
    reference: str
    currency: str
    lines: list[BookLine]
    count: int = 1

    def pairs(self) -> list[tuple[BookLine, BookLine, int]]:
        """The journal as two-sided bookings (debit line, credit line, amount > 0), as DATEV
        wants them: debits and credits matched in order, each pair taking what is left of
        the smaller. Sums per account are those of the lines."""
        debits = [line for line in self.lines if line.amount > 0]
        credits = [line for line in self.lines if line.amount < 0]
        debit_left = [line.amount for line in debits]
        credit_left = [-line.amount for line in credits]
        out: list[tuple[BookLine, BookLine, int]] = []
        i = j = 0
        while i < len(debits) and j < len(credits):
            take = min(debit_left[i], credit_left[j])
            out.append((debits[i], credits[j], take))
            debit_left[i] -= take
            credit_left[j] -= take
            if debit_left[i] == 0:
                i += 1
            if credit_left[j] == 0:
                j += 1
        return out


@dataclass(slots=True)
class _Transaction:
    seq: int
    txn_id: str
    day: date
    event: str
    customer_id: str | None
    ticket_number: int | None
    currency: str
    nets: dict[str, int] = field(default_factory=dict)  # code → Σ amount, first seen first


@dataclass(slots=True)
class _Pair:
    debit: BookAccount
    credit: BookAccount
    amount: int = 0
    count: int = 0


class BookJournals:
    """Rows of `repository.BOOKS_FIELDS` → BookJournal, transaction by transaction."""

    def __init__(
        self, account_map: AccountMap, zone: ZoneInfo, summary: Summary, period: Period
    ) -> None:
        self._map = account_map
        self._zone = zone
        self._summary = summary
        self._last_day = local_last_day(period, zone)
        self._current: _Transaction | None = None
        self._moment: datetime | None = None
        self._day: date | None = None
        self._bucket: date | None = None
        self._pairs: dict[tuple[str, str, str], _Pair] = {}
        self._code_names: dict[str, str] = {}
        for book in account_map.accounts.values():
            self._code_names.setdefault(book.code, book.name)
        self.transactions = 0

    def feed(self, rows: Iterable[Sequence[Any]]) -> list[BookJournal]:
        out: list[BookJournal] = []
        current = self._current
        accounts = self._map.accounts
        for r in rows:
            seq, txn_id, posted_at, kind, reason, account, unit, amount, customer_id = r[:9]
            if current is None or seq != current.seq:
                if current is not None:
                    self._close(current, out)
                if posted_at != self._moment:
                    self._moment = posted_at
                    self._day = posted_at.astimezone(self._zone).date()
                assert self._day is not None
                current = self._current = _Transaction(
                    seq, txn_id, self._day, event_name(kind, reason), customer_id, r[9], unit
                )
            book = accounts.get(account)
            if book is None:  # checked before the export starts; a race with a new account
                self._map.require([account])
                raise AssertionError
            nets = current.nets
            nets[book.code] = nets.get(book.code, 0) + amount
        return out

    def finish(self) -> list[BookJournal]:
        out: list[BookJournal] = []
        if self._current is not None:
            self._close(self._current, out)
            self._current = None
        self._flush_bucket(out)
        return out

    # ------------------------------------------------------------ per transaction

    def _close(self, txn: _Transaction, out: list[BookJournal]) -> None:
        self.transactions += 1
        names = self._code_names
        description = _description(txn)
        lines = [
            BookLine(code, names[code], amount, description)
            for code, amount in txn.nets.items()
            if amount != 0
        ]
        if not lines:
            return
        journal = BookJournal(
            number=f"CD-{txn.seq}"[:NUMBER_MAX],
            day=txn.day,
            narration=f"CreditDesk {txn.event} {txn.txn_id}",
            reference=txn.txn_id.replace("_", "-")[:36],
            currency=txn.currency,
            lines=lines,
        )
        if self._summary == "none":
            out.append(journal)
            return
        bucket = txn.day if self._summary == "daily" else txn.day.replace(day=1)
        if bucket != self._bucket:
            self._flush_bucket(out)
            self._bucket = bucket
        for debit, credit, amount in journal.pairs():
            key = (txn.currency, debit.code, credit.code)
            pair = self._pairs.get(key)
            if pair is None:
                pair = self._pairs[key] = _Pair(
                    BookAccount(code=debit.code, name=debit.name),
                    BookAccount(code=credit.code, name=credit.name),
                )
            pair.amount += amount
            pair.count += 1

    # ------------------------------------------------------------ summaries

    def _flush_bucket(self, out: list[BookJournal]) -> None:
        bucket = self._bucket
        if bucket is None or not self._pairs:
            self._pairs = {}
            return
        if self._summary == "daily":
            day, label = bucket, bucket.isoformat()
        else:
            month_end = bucket.replace(day=calendar.monthrange(bucket.year, bucket.month)[1])
            day, label = min(month_end, self._last_day), bucket.strftime("%Y-%m")
        for n, ((currency, _, _), pair) in enumerate(sorted(self._pairs.items()), start=1):
            number = f"CD-{bucket:%Y%m%d}-{n}"
            what = f"{pair.debit.name} / {pair.credit.name}"
            count = f"{pair.count} transaction{'s' if pair.count != 1 else ''}"
            out.append(
                BookJournal(
                    number=number,
                    day=day,
                    narration=f"CreditDesk {label} {what} ({count})",
                    reference=number,
                    currency=currency,
                    lines=[
                        BookLine(pair.debit.code, pair.debit.name, pair.amount, what),
                        BookLine(pair.credit.code, pair.credit.name, -pair.amount, what),
                    ],
                    count=pair.count,
                )
            )
        self._pairs = {}


def _description(txn: _Transaction) -> str:
    parts = [txn.event]
    if txn.customer_id:
        parts.append(txn.customer_id)
    if txn.ticket_number is not None:
        parts.append(f"ticket #{txn.ticket_number}")
    return " ".join(parts)


def local_first_day(period: Period, zone: ZoneInfo) -> date:
    return period.start.astimezone(zone).date()


def local_last_day(period: Period, zone: ZoneInfo) -> date:
    """The last local day the period touches (`to` is exclusive)."""
    if period.end <= period.start:
        return local_first_day(period, zone)
    return (period.end - timedelta(microseconds=1)).astimezone(zone).date()


__all__ = [
    "SUMMARIES",
    "BookJournal",
    "BookJournals",
    "BookLine",
    "Summary",
    "local_first_day",
    "local_last_day",
]
