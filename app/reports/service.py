"""The usage report: per customer and per line, tickets opened, credits charged, credits
refunded by reason, and partners' tickets with what they would have cost, for `[from, to)`.

Credits come from the journal (the lines on `credits:consumed`), so the report's totals are
the journal's own: charged = Σ `credits:consumed` lines of `charge` transactions, refunded =
−Σ of `refund` transactions. Charges are made when a ticket reaches the technical line, so
charges, refunds and partners' tickets are counted on `technical`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.desk.models import Line, RefundReason
from app.reports import repository
from app.reports.schemas import UsageFigures, UsageReport, UsageRow
from billing.exports.periods import Period
from billing.exports.writers import CsvWriter, Row

# A technical ticket costs one credit (policy §2); a partner's would have cost the same.
TICKET_CREDITS = 1
REASONS = [r.value for r in RefundReason]
TOTAL = "TOTAL"


@dataclass(slots=True)
class _Figures:
    tickets: int = 0
    credits_charged: int = 0
    credits_refunded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    partner_tickets: int = 0

    def row(self, cid: str, line: str, info: repository.CustomerInfo | None) -> UsageRow:
        return UsageRow(
            customer_id=cid,
            customer_name=info.name if info else "",
            partner=info.partner if info else False,
            line=line,
            tickets=self.tickets,
            credits_charged=self.credits_charged,
            credits_refunded=self.credits_refunded,
            credits_refunded_total=sum(self.credits_refunded.values()),
            partner_tickets=self.partner_tickets,
            partner_credits_would_cost=self.partner_tickets * TICKET_CREDITS,
        )


async def usage_report(session: AsyncSession, period: Period) -> UsageReport:
    tickets = await repository.tickets_opened(session, period)
    charged = await repository.consumed_credits(session, period, "charge")
    refunded = await repository.consumed_credits(session, period, "refund")
    partners = await repository.partner_charges(session, period)
    rows: dict[tuple[str, str], _Figures] = defaultdict(_Figures)
    tech = Line.technical.value
    for (cid, line), n in tickets.items():
        rows[(cid, line)].tickets = n
    for (cid, _reason), n in charged.items():
        rows[(cid, tech)].credits_charged += n
    for (cid, reason), n in refunded.items():
        by_reason = rows[(cid, tech)].credits_refunded
        by_reason[reason or "other"] = by_reason.get(reason or "other", 0) + n
    for cid, n in partners.items():
        rows[(cid, tech)].partner_tickets = n
    info = await repository.customers(session, {cid for cid, _ in rows})
    out = [figures.row(cid, line, info.get(cid)) for (cid, line), figures in sorted(rows.items())]
    return UsageReport(from_=period.start, to=period.end, rows=out, totals=_totals(out))


def _totals(rows: list[UsageRow]) -> UsageFigures:
    refunded: dict[str, int] = dict.fromkeys(REASONS, 0)
    for row in rows:
        for reason, n in row.credits_refunded.items():
            refunded[reason] = refunded.get(reason, 0) + n
    return UsageFigures(
        tickets=sum(r.tickets for r in rows),
        credits_charged=sum(r.credits_charged for r in rows),
        credits_refunded=refunded,
        credits_refunded_total=sum(r.credits_refunded_total for r in rows),
        partner_tickets=sum(r.partner_tickets for r in rows),
        partner_credits_would_cost=sum(r.partner_credits_would_cost for r in rows),
    )


def usage_csv(report: UsageReport) -> bytes:
    """One row per customer and line, then a `TOTAL` row; RFC 4180, header first."""
    reasons = sorted({k for r in [*report.rows, report.totals] for k in r.credits_refunded})
    columns = (
        "customer_id", "customer_name", "partner", "line", "tickets", "credits_charged",
        *(f"credits_refunded_{r}" for r in reasons), "credits_refunded_total",
        "partner_tickets", "partner_credits_would_cost",
    )  # fmt: skip
    writer = CsvWriter(columns, frozenset({"customer_name"}))

    def cells(f: UsageFigures) -> tuple[int, ...]:
        return (
            f.tickets, f.credits_charged, *(f.credits_refunded.get(r, 0) for r in reasons),
            f.credits_refunded_total, f.partner_tickets, f.partner_credits_would_cost,
        )  # fmt: skip

    rows: list[Row] = [
        (r.customer_id, r.customer_name, str(r.partner).lower(), r.line, *cells(r))
        for r in report.rows
    ]
    rows.append((TOTAL, None, None, None, *cells(report.totals)))
    return writer.header() + writer.rows(rows)
