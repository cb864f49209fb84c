"""`GET /v1/reports/sla`: per line and severity, the targets met and breached by the
tickets reported in `[from, to)` (UTC dates), and the median and 90th-percentile first
response in working hours. A target still pending counts as breached once it is overdue,
and in neither column before; a merged duplicate's resolution counts in neither."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk.models import Line, Ticket
from app.desk.sla import service
from app.desk.sla.hooks import REPORT_BUILT, ReportBuilt
from app.desk.sla.models import TicketSla
from app.desk.sla.schemas import SlaReport, SlaReportRow, TargetState
from app.kit.errors import ValidationFailed
from app.settings import Settings

COLUMNS = list(SlaReportRow.model_fields)


def check_period(start: date, end: date, max_days: int) -> None:
    if end <= start:
        raise ValidationFailed("`to` must be after `from` (`to` is exclusive).", field="to")
    if (end - start).days > max_days:
        raise ValidationFailed(f"A report covers at most {max_days} days.", field="to")


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]  # nearest rank


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _count(state: TargetState) -> tuple[int, int]:
    """(met, breached) for one target."""
    if state.breached:
        return 0, 1
    return (1, 0) if state.met_at is not None else (0, 0)


async def build(
    session: AsyncSession, start: date, end: date, now: datetime, settings: Settings
) -> SlaReport:
    since = datetime.combine(start, time(0), tzinfo=UTC)
    until = datetime.combine(end, time(0), tzinfo=UTC)
    stmt = (
        select(Ticket)
        .where(Ticket.created_at >= since, Ticket.created_at < until)
        .order_by(Ticket.number)
    )
    counts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    responses: dict[tuple[str, int], list[float]] = defaultdict(list)
    for ticket in (await session.execute(stmt)).scalars():
        key = (ticket.line, ticket.severity)
        block = await service.block(session, ticket, now)
        row = counts[key]
        row[0] += 1
        targets = [(1, block.first_response)]
        if ticket.merged_into is None:  # a merged duplicate was not resolved on its own
            targets.append((3, block.resolution))
        for offset, state in targets:
            met, breached = _count(state)
            row[offset] += met
            row[offset + 1] += breached
        clock = await session.get(TicketSla, ticket.id)
        if clock is not None and clock.first_response_elapsed is not None:
            responses[key].append(clock.first_response_elapsed / 3600)
    rows = []
    for (line, severity), (n, fr_met, fr_late, res_met, res_late) in sorted(counts.items()):
        times = responses[(line, severity)]
        rows.append(
            SlaReportRow(
                line=Line(line),
                severity=severity,
                tickets=n,
                first_response_met=fr_met,
                first_response_breached=fr_late,
                resolution_met=res_met,
                resolution_breached=res_late,
                first_response_median_hours=_hours(statistics.median(times)) if times else None,
                first_response_p90_hours=_hours(_p90(times)) if times else None,
            )
        )
    result = SlaReport(period_from=start, period_to=end, rows=rows)
    await REPORT_BUILT.publish(session, ReportBuilt(result, since, until, now, settings))
    return result


def to_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report.rows:
        values = row.model_dump(mode="json")
        writer.writerow(["" if values[c] is None else values[c] for c in COLUMNS])
    return out.getvalue()
