"""Invariants 1–5 of the ledger (docs/ledger.md), checked over the whole database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.money import display
from credits import accounts as acc
from credits.models import JournalLine, JournalTransaction, Lot, Wallet


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: int
    subject: str
    message: str


@dataclass(slots=True)
class Report:
    violations: list[Violation] = field(default_factory=list)
    transactions: int = 0
    lines: int = 0
    wallets: int = 0
    lots: int = 0
    deferred_revenue: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, invariant: int, subject: str, message: str) -> None:
        self.violations.append(Violation(invariant, subject, message))

    def render(self) -> str:
        out = [
            f"checked {self.transactions} transactions, {self.lines} lines, "
            f"{self.wallets} wallets, {self.lots} lots",
            "deferred revenue: "
            + (
                ", ".join(display(v, u) for u, v in sorted(self.deferred_revenue.items())) or "none"
            ),
        ]
        if self.ok:
            out.append("OK: invariants 1-5 hold")
        else:
            out.append(f"FAILED: {len(self.violations)} violation(s)")
            out += [f"  [{v.invariant}] {v.subject}: {v.message}" for v in self.violations]
        return "\n".join(out)


async def reconcile(session: AsyncSession) -> Report:
    report = Report()
    report.transactions = (await session.scalar(select(func.count(JournalTransaction.seq)))) or 0
    report.lines = (await session.scalar(select(func.count(JournalLine.id)))) or 0
    await _balanced_transactions(session, report)
    lot_lines = await _lines_by_lot(session)
    await _wallets(session, report)
    await _lots(session, report, lot_lines)
    await _exactly_once(session, report)
    return report


async def _balanced_transactions(session: AsyncSession, report: Report) -> None:
    rows = await session.execute(
        select(JournalTransaction.id, JournalLine.unit, func.sum(JournalLine.amount))
        .join(JournalTransaction, JournalTransaction.seq == JournalLine.transaction_seq)
        .group_by(JournalTransaction.id, JournalLine.unit)
        .having(func.sum(JournalLine.amount) != 0)
    )
    for txn_id, unit, total in rows:
        report.add(1, txn_id, f"{unit} lines sum to {total}, not 0")


async def _account_sums(session: AsyncSession, pattern: str) -> dict[str, int]:
    rows = await session.execute(
        select(JournalLine.customer_id, func.sum(JournalLine.amount))
        .where(JournalLine.unit == acc.CREDIT, JournalLine.account.like(pattern))
        .group_by(JournalLine.customer_id)
    )
    return {cid: int(total) for cid, total in rows if cid is not None}


async def _wallets(session: AsyncSession, report: Report) -> None:
    available = await _account_sums(session, "customer:%:available")
    frozen = await _account_sums(session, "customer:%:frozen")
    lots = await session.execute(
        select(Lot.customer_id, func.sum(Lot.remaining), func.sum(Lot.frozen)).group_by(
            Lot.customer_id
        )
    )
    in_lots = {cid: (int(r), int(f)) for cid, r, f in lots}
    wallets = list((await session.execute(select(Wallet))).scalars())
    report.wallets = len(wallets)
    for w in wallets:
        subject = f"wallet {w.customer_id}"
        if w.available < 0 or w.frozen < 0:
            report.add(2, subject, f"negative balance (available {w.available}, frozen {w.frozen})")
        if w.available != available.get(w.customer_id, 0):
            report.add(
                2,
                subject,
                f"stored available {w.available} != journal {available.get(w.customer_id, 0)}",
            )
        if w.frozen != frozen.get(w.customer_id, 0):
            report.add(
                2, subject, f"stored frozen {w.frozen} != journal {frozen.get(w.customer_id, 0)}"
            )
        if (w.available, w.frozen) != in_lots.get(w.customer_id, (0, 0)):
            report.add(
                2,
                subject,
                f"stored (available, frozen) {(w.available, w.frozen)} != lots {in_lots.get(w.customer_id, (0, 0))}",
            )


async def _lines_by_lot(session: AsyncSession) -> dict[str, dict[str, int]]:
    rows = await session.execute(
        select(
            JournalLine.lot_id, JournalLine.account, JournalLine.unit, func.sum(JournalLine.amount)
        )
        .where(JournalLine.lot_id.is_not(None))
        .group_by(JournalLine.lot_id, JournalLine.account, JournalLine.unit)
    )
    by_lot: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for lot_id, account, unit, total in rows:
        if lot_id is None:
            continue
        if unit == acc.CREDIT and account.endswith(":available"):
            by_lot[lot_id]["available"] += int(total)
        elif unit == acc.CREDIT and account.endswith(":frozen"):
            by_lot[lot_id]["frozen"] += int(total)
        elif account == acc.DEFERRED:
            by_lot[lot_id]["deferred"] -= int(total)
        elif unit == acc.CREDIT and account == acc.ISSUED:
            by_lot[lot_id]["issued"] -= int(total)
    return by_lot


async def _lots(session: AsyncSession, report: Report, by_lot: dict[str, dict[str, int]]) -> None:
    lots = list((await session.execute(select(Lot))).scalars())
    report.lots = len(lots)
    held_value: dict[str, int] = defaultdict(int)
    for lot in lots:
        subject = f"lot {lot.id}"
        sums = by_lot.get(lot.id, {})
        if not (
            0 <= lot.remaining <= lot.credits and 0 <= lot.frozen <= lot.credits - lot.remaining
        ):
            report.add(
                3,
                subject,
                f"remaining {lot.remaining}, frozen {lot.frozen} outside 0..{lot.credits}",
            )
        # refund lots are filled by the refund that made them, every other lot by its grant
        if lot.source != "refund" and lot.credits != sums.get("issued", 0):
            report.add(3, subject, f"credits {lot.credits} != granted {sums.get('issued', 0)}")
        if lot.remaining != sums.get("available", 0):
            report.add(
                3, subject, f"remaining {lot.remaining} != journal {sums.get('available', 0)}"
            )
        if lot.frozen != sums.get("frozen", 0):
            report.add(3, subject, f"frozen {lot.frozen} != journal {sums.get('frozen', 0)}")
        if lot.value_remaining != sums.get("deferred", 0):
            report.add(
                4,
                subject,
                f"value {lot.value_remaining} != deferred revenue lines {sums.get('deferred', 0)}",
            )
        if not 0 <= lot.value_remaining <= lot.amount:
            report.add(4, subject, f"value {lot.value_remaining} outside 0..{lot.amount}")
        elif lot.remaining + lot.frozen == 0 and lot.value_remaining != 0:
            report.add(4, subject, f"no credits left but value {lot.value_remaining} remains")
        held_value[lot.currency] += lot.value_remaining
    rows = await session.execute(
        select(JournalLine.unit, func.sum(JournalLine.amount))
        .where(JournalLine.account == acc.DEFERRED)
        .group_by(JournalLine.unit)
    )
    deferred = {unit: -int(total) for unit, total in rows}
    report.deferred_revenue = deferred
    for currency in set(deferred) | set(held_value):
        if deferred.get(currency, 0) != held_value.get(currency, 0):
            report.add(
                4,
                f"deferred_revenue {currency}",
                f"balance {deferred.get(currency, 0)} != lots' remaining value {held_value.get(currency, 0)}",
            )


async def _exactly_once(session: AsyncSession, report: Report) -> None:
    grants = await session.execute(
        select(JournalTransaction.purchase_id, func.count())
        .where(JournalTransaction.kind == "grant", JournalTransaction.purchase_id.is_not(None))
        .group_by(JournalTransaction.purchase_id)
        .having(func.count() > 1)
    )
    for purchase_id, n in grants:
        report.add(5, f"purchase {purchase_id}", f"granted {n} times")
    refunds = await session.execute(
        select(JournalTransaction.refund_of, func.count())
        .where(JournalTransaction.refund_of.is_not(None))
        .group_by(JournalTransaction.refund_of)
        .having(func.count() > 1)
    )
    for charge_id, n in refunds:
        report.add(5, f"charge {charge_id}", f"refunded {n} times")
