"""The lot-aging report: the contract liability at a moment by the age of the lots that
hold it, by their source and by when they expire, so that finance can estimate breakage
on credits that never expire. Everything is summed from journal lines up to `at`, so a
past moment reads as it was then."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select

from app.kit.db import Database
from billing.exports.writers import CsvWriter, Row, decimal_string
from credits import accounts as acc
from credits.models import JournalLine as L
from credits.models import JournalTransaction as T
from credits.models import Lot

# (label, upper bound in days, inclusive); the last bucket has none.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-30", 30), ("31-90", 90), ("91-180", 180), ("181-365", 365), (">365", None),
)  # fmt: skip
EXPIRY_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("lapsed", 0), ("0-30", 30), ("31-90", 90), ("91-365", 365), (">365", None),
)  # fmt: skip
NO_EXPIRY = "never"


class AgingFigures(BaseModel):
    bucket: str
    value: int = Field(0, description="liability held, minor units of `currency` (net of VAT)")
    credits: int = Field(0, description="credits held (available and frozen)")
    lots: int = Field(0, description="lots holding credits or value")


class LotAgingRead(BaseModel):
    at: datetime
    currency: str
    total: AgingFigures
    by_age: list[AgingFigures] = Field(description="days since the lot was granted")
    by_source: list[AgingFigures] = Field(description="purchase, spend_reward, adjustment, …")
    by_expiry: list[AgingFigures] = Field(
        description="days until the lot expires (`never`: no expiry; `lapsed`: expired, "
        "not yet written off)"
    )


def _bucket(days: float, buckets: tuple[tuple[str, int | None], ...]) -> str:
    for label, upper in buckets:
        if upper is None or days <= upper:
            return label
    raise AssertionError


def _held() -> Any:
    return or_(
        L.account == acc.DEFERRED,
        and_(
            L.unit == acc.CREDIT,
            or_(L.account.like("customer:%:available"), L.account.like("customer:%:frozen")),
        ),
    )


async def lot_aging(db: Database, at: datetime, currency: str) -> LotAgingRead:
    value = func.sum(L.amount).filter(L.account == acc.DEFERRED)
    credits = func.sum(L.amount).filter(L.unit == acc.CREDIT)
    stmt = (
        select(Lot.source, Lot.created_at, Lot.expires_at, value, credits)
        .join(L, L.lot_id == Lot.id)
        .join(T, T.seq == L.transaction_seq)
        .where(T.posted_at < at, Lot.currency == currency, _held())
        .group_by(Lot.id, Lot.source, Lot.created_at, Lot.expires_at)
    )
    total = AgingFigures(bucket="total")
    groups: dict[str, dict[str, AgingFigures]] = defaultdict(dict)
    async with db.engine.connect() as conn:
        result = await conn.stream(stmt.execution_options(yield_per=5000))
        async for source, created_at, expires_at, owed, held in result:
            owed, held = -int(owed or 0), int(held or 0)  # the liability is credit-negative
            if owed == 0 and held == 0:
                continue
            age = (at - created_at) / timedelta(days=1)
            if expires_at is None:
                expiry = NO_EXPIRY
            else:
                expiry = _bucket((expires_at - at) / timedelta(days=1), EXPIRY_BUCKETS)
            for name, key in (("age", _bucket(age, AGE_BUCKETS)), ("source", source),
                              ("expiry", expiry), ("total", "total")):  # fmt: skip
                figures = (
                    total
                    if name == "total"
                    else groups[name].setdefault(key, AgingFigures(bucket=key))
                )
                figures.value += owed
                figures.credits += held
                figures.lots += 1

    def ordered(name: str, labels: list[str]) -> list[AgingFigures]:
        found = groups[name]
        return [found.get(label, AgingFigures(bucket=label)) for label in labels] + [
            found[key] for key in sorted(found) if key not in labels
        ]

    return LotAgingRead(
        at=at,
        currency=currency,
        total=total,
        by_age=ordered("age", [label for label, _ in AGE_BUCKETS]),
        by_source=ordered("source", []),
        by_expiry=ordered("expiry", [label for label, _ in EXPIRY_BUCKETS] + [NO_EXPIRY]),
    )


AGING_CSV_COLUMNS = ("dimension", "bucket", "currency", "value", "credits", "lots")


def lot_aging_csv(report: LotAgingRead) -> bytes:
    writer = CsvWriter(AGING_CSV_COLUMNS)
    rows: list[Row] = []
    for name, figures in (
        ("age_days", report.by_age), ("source", report.by_source),
        ("expires_in_days", report.by_expiry), ("total", [report.total]),
    ):  # fmt: skip
        for f in figures:
            rows.append((name, f.bucket, report.currency,
                         decimal_string(f.value, report.currency), f.credits, f.lots))  # fmt: skip
    return writer.header() + writer.rows(rows)


__all__ = ["AGE_BUCKETS", "EXPIRY_BUCKETS", "LotAgingRead", "lot_aging", "lot_aging_csv"]
