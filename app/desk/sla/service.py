"""Service-level clocks (policy.md §4): calendars and targets (stored overrides of the
policy defaults), the clock of each ticket and its history, escalation and the
most-urgent extension.

Every change to a ticket's clock happens under the ticket's lock, taken by the desk
(`app.desk.service`) or by the escalation sweep, so two requests cannot interleave."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk.errors import InvalidTransition
from app.desk.models import Line, Status, Ticket
from app.desk.sla import policy
from app.desk.sla.calendar import Calendar
from app.desk.sla.hooks import EXTENSION_SPANS, SLA_CHANGED, ExtensionSpans, SlaChanged
from app.desk.sla.levels import service as levels
from app.desk.sla.models import (
    Category,
    EventKind,
    SlaCalendar,
    SlaEvent,
    SlaTarget,
    TicketSla,
    UrgentPeriod,
)
from app.desk.sla.schemas import (
    CalendarRead,
    CalendarWrite,
    OpeningHours,
    SlaRead,
    TargetRead,
    TargetState,
    TargetWrite,
)
from app.kit.errors import ValidationFailed
from app.kit.events import EventType
from credits import service as ledger

PAUSED = frozenset({Status.waiting_on_customer.value})
FINISHED = frozenset({Status.resolved.value, Status.closed.value})
BREACH_FIRST_RESPONSE = 1  # `level` of a `breached` event: which target was missed

# ---------------------------------------------------------------- calendars


def _to_calendar(zone: str, hours: Sequence[OpeningHours], holidays: Sequence[date]) -> Calendar:
    table: dict[int, list[tuple[time, time]]] = {}
    for h in hours:
        table.setdefault(h.weekday, []).append((h.opens, h.closes))
    return Calendar(zone, table, frozenset(holidays))


def _calendar_read(line: Line, cal: Calendar, default: bool) -> CalendarRead:
    hours = [
        OpeningHours(weekday=d, opens=o, closes=c)
        for d in sorted(cal.hours)
        for o, c in cal.hours[d]
    ]
    return CalendarRead(
        line=line, zone=cal.zone, hours=hours, holidays=sorted(cal.holidays), default=default
    )


def _stored_calendar(row: SlaCalendar) -> Calendar:
    hours = [OpeningHours(weekday=d, opens=o, closes=c) for d, o, c in row.hours]
    return _to_calendar(row.zone, hours, [date.fromisoformat(h) for h in row.holidays])


async def line_calendar(session: AsyncSession, line: Line) -> tuple[Calendar, bool]:
    """The line's calendar and whether it is the policy default."""
    row = await session.get(SlaCalendar, line.value)
    if row is None:
        return policy.DEFAULT_CALENDARS[line], True
    return _stored_calendar(row), False


async def calendar_for(session: AsyncSession, ticket: Ticket) -> tuple[Calendar, str]:
    """Severity 1 runs on a 24/7 clock; every other ticket on its line's calendar."""
    if ticket.severity == 1:
        return policy.ALWAYS_OPEN, "24/7"
    cal, _ = await line_calendar(session, Line(ticket.line))
    return cal, ticket.line


async def list_calendars(session: AsyncSession) -> list[CalendarRead]:
    result = []
    for line in Line:
        cal, default = await line_calendar(session, line)
        result.append(_calendar_read(line, cal, default))
    return result


async def put_calendar(
    session: AsyncSession, line: Line, data: CalendarWrite, now: datetime
) -> CalendarRead:
    """Stores a line's calendar (422 for an unknown zone, an empty week or a day whose
    hours close before they open)."""
    try:
        ZoneInfo(data.zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"Unknown time zone {data.zone!r}.", field="zone") from exc
    if not data.hours:
        raise ValidationFailed("A calendar needs some opening hours.", field="hours")
    for h in data.hours:
        if h.closes != time(0) and h.closes <= h.opens:
            raise ValidationFailed("Opening hours must close after they open.", field="hours")
    for day, intervals in _to_calendar(data.zone, data.hours, []).hours.items():
        spans = sorted((o, c if c != time(0) else time.max) for o, c in intervals)
        if any(later[0] < earlier[1] for earlier, later in pairwise(spans)):
            raise ValidationFailed(
                f"Opening hours overlap on weekday {day}; working time would count twice.",
                field="hours",
            )
    row = await session.get(SlaCalendar, line.value)
    if row is None:
        row = SlaCalendar(line=line.value)
        session.add(row)
    row.zone = data.zone
    row.hours = [[h.weekday, h.opens.isoformat("minutes"), h.closes.isoformat("minutes")] for h in data.hours]  # fmt: skip
    row.holidays = sorted({d.isoformat() for d in data.holidays})
    row.updated_at = now
    await session.flush()
    cal = _to_calendar(data.zone, data.hours, data.holidays)
    return _calendar_read(line, cal, False)


# ---------------------------------------------------------------- targets


async def targets_for(
    session: AsyncSession, line: Line, severity: int, category: Category
) -> tuple[policy.Targets, bool]:
    row = await session.get(SlaTarget, (line.value, severity, category.value))
    if row is None:
        return policy.default_targets(line, severity, category), True
    return stored_targets(row), False


def stored_targets(row: SlaTarget) -> policy.Targets:
    return policy.Targets(
        first_response=timedelta(minutes=row.first_response_minutes),
        assignment=timedelta(minutes=row.assignment_minutes),
        resolution=timedelta(minutes=row.resolution_minutes),
    )


def with_level(
    line: policy.Targets, level: levels.LevelTargets, severity: int, category: str
) -> policy.Targets:
    """The customer's contract-level targets where their level sets them (seeds 004 §4,
    001 §4.2); the assignment target stays the line's."""
    found = level.get((severity, category))
    if found is None:
        return line
    return policy.Targets(first_response=found[0], assignment=line.assignment, resolution=found[1])


async def ticket_targets(
    session: AsyncSession, ticket: Ticket, category: Category
) -> policy.Targets:
    """The targets of one ticket: its line's, or its customer's contract level's."""
    line, _ = await targets_for(session, Line(ticket.line), ticket.severity, category)
    level = await levels.targets_of_customer(session, ticket.customer_id)
    return with_level(line, level, ticket.severity, category.value)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


async def list_targets(session: AsyncSession) -> list[TargetRead]:
    result = []
    for line in Line:
        for severity in range(1, 5):
            for category in Category:
                t, default = await targets_for(session, line, severity, category)
                result.append(
                    TargetRead(
                        line=line,
                        severity=severity,
                        category=category,
                        default=default,
                        first_response_minutes=_minutes(t.first_response),
                        assignment_minutes=_minutes(t.assignment),
                        resolution_minutes=_minutes(t.resolution),
                    )
                )
    return result


async def put_target(session: AsyncSession, data: TargetWrite, now: datetime) -> TargetRead:
    key = (data.line.value, data.severity, data.category.value)
    row = await session.get(SlaTarget, key)
    if row is None:
        row = SlaTarget(line=key[0], severity=key[1], category=key[2])
        session.add(row)
    row.first_response_minutes = data.first_response_minutes
    row.assignment_minutes = data.assignment_minutes
    row.resolution_minutes = data.resolution_minutes
    row.updated_at = now
    await session.flush()
    return TargetRead(**data.model_dump(), default=False)


# ---------------------------------------------------------------- a ticket's clock


def _event(
    ticket_id: str,
    kind: EventKind,
    now: datetime,
    *,
    level: int | None = None,
    detail: str | None = None,
    due_at: datetime | None = None,
) -> SlaEvent:
    return SlaEvent(
        ticket_id=ticket_id, kind=kind.value, level=level, detail=detail, due_at=due_at,
        occurred_at=now,
    )  # fmt: skip


async def clock_of(session: AsyncSession, ticket: Ticket) -> TicketSla:
    """The ticket's clock; tickets older than service levels get one from their creation."""
    row = await session.get(TicketSla, ticket.id, populate_existing=True)
    if row is None:
        row = TicketSla(
            ticket_id=ticket.id, customer_id=ticket.customer_id,
            category=Category.product_issue.value, started_at=ticket.created_at,
            paused_working_seconds=0, paused_wall_seconds=0, stopped=False,
            first_response_breached=False, escalation_level=0,
        )  # fmt: skip
        session.add(row)
        await session.flush()
    return row


def new_clock(ticket: Ticket, category: Category, now: datetime) -> TicketSla:
    """The clock of a ticket created at `now`, not yet added to the session."""
    return TicketSla(
        ticket_id=ticket.id, customer_id=ticket.customer_id, category=category.value,
        started_at=now, paused_since=None, paused_working_seconds=0, paused_wall_seconds=0,
        stopped=False, first_response_at=None, first_response_elapsed=None,
        first_response_breached=False, assigned_at=None, assignee=None,
        assignment_elapsed=None, resolved_at=None, resolution_elapsed=None,
        escalation_level=0, compensated_at=None,
    )  # fmt: skip


async def start(
    session: AsyncSession,
    ticket: Ticket,
    category: Category,
    now: datetime,
    *,
    clock: TicketSla | None = None,
) -> TicketSla:
    """The clock of a new ticket starts at its creation (`clock`: from `new_clock`); its
    `started` event is the clock row itself (see `history`)."""
    row = clock if clock is not None else new_clock(ticket, category, now)
    session.add(row)
    await session.flush()
    return row


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


@dataclass(frozen=True, slots=True)
class Measure:
    """A clock read at one instant."""

    elapsed: timedelta  # working time, pauses excluded
    paused_working: timedelta  # working time spent paused, the current pause included
    wall_elapsed: timedelta  # real time, pauses excluded (escalation)


def measure(row: TicketSla, cal: Calendar, now: datetime) -> Measure:
    paused_working = timedelta(seconds=row.paused_working_seconds)
    paused_wall = timedelta(seconds=row.paused_wall_seconds)
    if row.paused_since is not None:
        paused_working += cal.working_time(row.paused_since, now)
        paused_wall += max(now - row.paused_since, timedelta())
    total = cal.working_time(row.started_at, now)
    return Measure(
        elapsed=max(total - paused_working, timedelta()),
        paused_working=paused_working,
        wall_elapsed=max(now - row.started_at - paused_wall, timedelta()),
    )


async def sync(
    session: AsyncSession, ticket: Ticket, now: datetime, *, public_staff_message: bool = False
) -> None:
    """Brings the clock in line with the ticket after a desk event (the caller holds the
    ticket's lock): pauses in waiting_on_customer, stops when resolved or closed, starts
    again when the customer answers or the ticket is reopened; the first public staff
    message is the first response."""
    row = await clock_of(session, ticket)
    cal, _ = await calendar_for(session, ticket)
    m = measure(row, cal, now)
    halted = ticket.status in PAUSED or ticket.status in FINISHED
    if halted and row.paused_since is None:
        row.paused_since = now
        if ticket.status in PAUSED:
            session.add(_event(ticket.id, EventKind.paused, now))
    elif not halted and row.paused_since is not None:
        row.paused_working_seconds += _seconds(cal.working_time(row.paused_since, now))
        row.paused_wall_seconds += _seconds(now - row.paused_since)
        row.paused_since = None
        kind = EventKind.reopened if row.resolved_at is not None else EventKind.resumed
        session.add(_event(ticket.id, kind, now))
    if ticket.status in FINISHED and row.resolved_at is None:
        row.resolved_at, row.resolution_elapsed = now, _seconds(m.elapsed)
        session.add(_event(ticket.id, EventKind.resolved, now, detail=ticket.status))
    elif ticket.status not in FINISHED and row.resolved_at is not None:
        row.resolved_at = row.resolution_elapsed = None
    row.stopped = ticket.status in FINISHED
    if row.stopped:
        await end_urgent(session, ticket, now)
    if public_staff_message and row.first_response_at is None:
        row.first_response_at, row.first_response_elapsed = now, _seconds(m.elapsed)
        targets = await ticket_targets(session, ticket, Category(row.category))
        extension = await extension_of(session, row, cal, now)
        if m.elapsed > targets.first_response + extension:
            row.first_response_breached = True
            await _emit(session, EventType.sla_breached, ticket, now)
        session.add(_event(ticket.id, EventKind.first_response, now))
    await session.flush()


async def _emit(
    session: AsyncSession,
    type: EventType,
    ticket: Ticket,
    now: datetime,
    previous: dict[str, Any] | None = None,
) -> None:
    """An `sla.*` event, recorded by the desk's subscription (app.desk.events)."""
    await session.flush()
    await SLA_CHANGED.publish(session, SlaChanged(ticket, type, now, previous))


def refuse_closed(ticket: Ticket) -> None:
    if ticket.status == Status.closed:
        raise InvalidTransition(f"Ticket #{ticket.number} is closed.")


def refuse_finished(ticket: Ticket) -> None:
    if ticket.status in FINISHED:
        raise InvalidTransition(f"Ticket #{ticket.number} is {ticket.status}.")


async def assign(session: AsyncSession, ticket: Ticket, assignee: str, now: datetime) -> None:
    """Records the engineer; the first assignment meets the assignment target."""
    row = await clock_of(session, ticket)
    if row.assigned_at is None:
        cal, _ = await calendar_for(session, ticket)
        row.assigned_at, row.assignment_elapsed = now, _seconds(measure(row, cal, now).elapsed)
    row.assignee = assignee
    session.add(_event(ticket.id, EventKind.assigned, now, detail=assignee))
    await session.flush()


# ---------------------------------------------------------------- most urgent (seed 000)


async def extension_of(
    session: AsyncSession, row: TicketSla, cal: Calendar, now: datetime
) -> timedelta:
    """The working time the customer's most-urgent tickets (other than this one) were open
    while this one was."""
    periods = (
        await session.execute(
            select(UrgentPeriod).where(
                UrgentPeriod.customer_id == row.customer_id,
                UrgentPeriod.ticket_id != row.ticket_id,
            )
        )
    ).scalars()
    return _extension([*periods, *await call_spans(session, row.customer_id)], row, cal, now)


async def call_spans(session: AsyncSession, customer_id: str) -> list[UrgentPeriod]:
    """Other features' spans that extend the customer's tickets like a most-urgent ticket
    (phone calls, seed 000), collected through `EXTENSION_SPANS`."""
    collected = ExtensionSpans(customer_id)
    await EXTENSION_SPANS.publish(session, collected)
    return collected.spans


def _extension(
    periods: Iterable[UrgentPeriod], row: TicketSla, cal: Calendar, now: datetime
) -> timedelta:
    end = row.resolved_at or now
    total = timedelta()
    for p in periods:
        if p.ticket_id != row.ticket_id:
            total += cal.working_time(
                max(p.started_at, row.started_at), min(p.ended_at or now, end)
            )
    return total


async def current_urgent(session: AsyncSession, customer_id: str) -> UrgentPeriod | None:
    stmt = select(UrgentPeriod).where(
        UrgentPeriod.customer_id == customer_id, UrgentPeriod.ended_at.is_(None)
    )
    return (await session.execute(stmt)).scalars().first()


async def name_urgent(session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    """The customer names this ticket the most urgent (the previous one stops being so).
    The caller holds the customer's lock (`credits.service.lock_customer`), so two
    namings cannot both start."""
    current = await current_urgent(session, ticket.customer_id)
    if current is not None and current.ticket_id == ticket.id:
        current.named = True  # already the default one: now the customer's choice
        await session.flush()
        return
    if current is not None:
        current.ended_at = now
    session.add(
        UrgentPeriod(
            customer_id=ticket.customer_id, ticket_id=ticket.id, started_at=now, named=True
        )
    )
    await session.flush()


async def default_urgent(session: AsyncSession, ticket: Ticket, now: datetime) -> bool:
    """Seed 000: "by default, the last one" created is the most urgent. A new ticket
    becomes so unless the customer named one that is still open. The caller holds the
    customer's wallet lock. Returns whether the ticket is now the most urgent."""
    current = await current_urgent(session, ticket.customer_id)
    if current is not None and current.named is not False:
        return False  # the customer's own choice stands
    if current is not None:
        current.ended_at = now
    session.add(
        UrgentPeriod(
            customer_id=ticket.customer_id, ticket_id=ticket.id, started_at=now, named=False
        )
    )
    await session.flush()
    return True


async def end_urgent(session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    """A most-urgent ticket stops extending the others once it is resolved or closed; the
    customer's last ticket still open then becomes the most urgent by default (seed 000)."""
    current = await current_urgent(session, ticket.customer_id)
    if current is None or current.ticket_id != ticket.id:
        return
    current.ended_at = now
    await session.flush()
    await ledger.lock_customer(session, ticket.customer_id)  # as a submission does
    stmt = (
        select(Ticket)
        .where(
            Ticket.customer_id == ticket.customer_id,
            Ticket.id != ticket.id,
            Ticket.status.not_in(FINISHED),
        )
        .order_by(Ticket.number.desc())
        .limit(1)
    )
    last = (await session.execute(stmt)).scalars().first()
    if last is not None and await current_urgent(session, ticket.customer_id) is None:
        await default_urgent(session, last, now)


# ---------------------------------------------------------------- reading


def _target_state(
    cal: Calendar,
    row: TicketSla,
    m: Measure,
    target: timedelta,
    met_at: datetime | None,
    met_elapsed: int | None,
) -> TargetState:
    if met_at is not None and met_elapsed is not None:
        return TargetState(
            target_minutes=_minutes(target), due_at=None, met_at=met_at,
            breached=timedelta(seconds=met_elapsed) > target,
        )  # fmt: skip
    if row.stopped:
        # Resolved or closed with the target never met: it can no longer be met, so it is
        # breached, and due when it fell due while the clock ran (the pause that began at
        # resolution does not push it on).
        return TargetState(
            target_minutes=_minutes(target),
            due_at=cal.add(row.started_at, target + timedelta(seconds=row.paused_working_seconds)),
            met_at=None,
            breached=True,
        )
    return TargetState(
        target_minutes=_minutes(target),
        due_at=cal.add(row.started_at, target + m.paused_working),
        met_at=None,
        breached=m.elapsed > target,
    )


@dataclass
class _Reads:
    """What many `sla` blocks read alike, read once: a list of fifty tickets on the policy
    defaults would otherwise query the same missing calendar and target rows fifty times."""

    calendars: dict[tuple[str, int], tuple[Calendar, str]] = field(default_factory=dict)
    targets: dict[tuple[str, int, str], policy.Targets] = field(default_factory=dict)
    periods: dict[str, list[UrgentPeriod]] = field(default_factory=dict)
    contract_levels: dict[str, levels.LevelTargets] = field(default_factory=dict)

    async def calendar(self, session: AsyncSession, ticket: Ticket) -> tuple[Calendar, str]:
        key = (ticket.line, 1 if ticket.severity == 1 else 0)
        if key not in self.calendars:
            self.calendars[key] = await calendar_for(session, ticket)
        return self.calendars[key]

    async def target(self, session: AsyncSession, ticket: Ticket, category: str) -> policy.Targets:
        key = (ticket.line, ticket.severity, category)
        if key not in self.targets:
            self.targets[key], _ = await targets_for(
                session, Line(ticket.line), ticket.severity, Category(category)
            )
        if ticket.customer_id not in self.contract_levels:
            self.contract_levels[ticket.customer_id] = await levels.targets_of_customer(
                session, ticket.customer_id
            )
        level = self.contract_levels[ticket.customer_id]
        return with_level(self.targets[key], level, ticket.severity, category)

    async def urgent_periods(self, session: AsyncSession, customer_id: str) -> list[UrgentPeriod]:
        if customer_id not in self.periods:
            stmt = select(UrgentPeriod).where(UrgentPeriod.customer_id == customer_id)
            self.periods[customer_id] = [
                *(await session.execute(stmt)).scalars(),
                *await call_spans(session, customer_id),
            ]
        return self.periods[customer_id]


async def blocks(session: AsyncSession, tickets: Sequence[Ticket], now: datetime) -> list[SlaRead]:
    """The `sla` blocks of a page of tickets: their clocks in one query, and the calendars,
    targets and urgent periods they share read once."""
    ids = [t.id for t in tickets]
    stmt = select(TicketSla).where(TicketSla.ticket_id.in_(ids))
    clocks = {r.ticket_id: r for r in (await session.execute(stmt)).scalars()} if ids else {}
    reads = _Reads()
    return [
        await block(session, t, now, clock=clocks.get(t.id), reads=reads, clock_known=True)
        for t in tickets
    ]


async def block(
    session: AsyncSession,
    ticket: Ticket,
    now: datetime,
    *,
    new: TicketSla | None = None,
    clock: TicketSla | None = None,
    clock_known: bool = False,
    reads: _Reads | None = None,
) -> SlaRead:
    """The `sla` block of a ticket, read at `now`. `new` is the clock `start` just gave a
    ticket created in this transaction: it is used as is, and since the clock started at
    `now`, no urgent period can extend it yet and the ticket is not the urgent one (nothing
    could name it so before it existed), which saves their queries. `clock_known` says
    `clock` was already read (`blocks`), None meaning the ticket has none."""
    reads = reads or _Reads()
    if new is not None:
        row: TicketSla | None = new
    elif clock_known:
        row = clock
    else:
        row = await session.get(TicketSla, ticket.id)
    if row is None:  # a ticket from before service levels: a clock from its creation
        row = TicketSla(
            ticket_id=ticket.id, customer_id=ticket.customer_id,
            category=Category.product_issue.value, started_at=ticket.created_at,
            paused_working_seconds=0, paused_wall_seconds=0, stopped=False,
            first_response_breached=False, escalation_level=0,
        )  # fmt: skip
    cal, cal_name = await reads.calendar(session, ticket)
    targets = await reads.target(session, ticket, row.category)
    if new is not None:
        return new_block(Category(row.category), cal, cal_name, targets, now)
    periods = await reads.urgent_periods(session, ticket.customer_id)
    return assemble(ticket, row, cal, cal_name, targets, periods, now)


def new_block(
    category: Category, cal: Calendar, cal_name: str, targets: policy.Targets, now: datetime
) -> SlaRead:
    """The `sla` block of a ticket created at `now`: nothing elapsed, nothing paused, no
    extension, each target due its working time from now (what `assemble` gives for a
    clock started at `now`; both submission paths build it here)."""

    def due(target: timedelta) -> TargetState:
        return TargetState(
            target_minutes=_minutes(target), due_at=cal.add(now, target), met_at=None,
            breached=False,
        )  # fmt: skip

    return SlaRead(
        category=category, calendar=cal_name, state="running", paused=False,
        elapsed_minutes=0, extension_minutes=0, first_response=due(targets.first_response),
        assignment=due(targets.assignment), resolution=due(targets.resolution), assignee=None,
        breached=False, escalation_level=0, urgent=False, compensated=False,
    )  # fmt: skip


def assemble(
    ticket: Ticket,
    row: TicketSla,
    cal: Calendar,
    cal_name: str,
    targets: policy.Targets,
    periods: Sequence[UrgentPeriod],
    now: datetime,
) -> SlaRead:
    """The `sla` block from what `block` read: no database."""
    m = measure(row, cal, now)
    ext = _extension(periods, row, cal, now)
    first = _target_state(
        cal, row, m, targets.first_response + ext, row.first_response_at, row.first_response_elapsed
    )
    assigned = _target_state(
        cal, row, m, targets.assignment + ext, row.assigned_at, row.assignment_elapsed
    )
    resolved = _target_state(
        cal, row, m, targets.resolution + ext, row.resolved_at, row.resolution_elapsed
    )
    urgent = next((p for p in periods if p.ended_at is None), None)
    paused = ticket.status in PAUSED
    return SlaRead(
        category=Category(row.category),
        calendar=cal_name,
        state="stopped" if ticket.status in FINISHED else "paused" if paused else "running",
        paused=paused,
        elapsed_minutes=_minutes(m.elapsed),
        extension_minutes=_minutes(ext),
        first_response=first,
        assignment=assigned,
        resolution=resolved,
        assignee=row.assignee,
        breached=first.breached or assigned.breached or resolved.breached,
        escalation_level=row.escalation_level,
        urgent=urgent is not None and urgent.ticket_id == ticket.id,
        compensated=row.compensated_at is not None,
    )


async def history(session: AsyncSession, ticket_id: str) -> list[SlaEvent]:
    """The clock's events, oldest first. `started` is the clock row itself (its start and
    category, which never change), not a stored event: a submission writes one row fewer
    (issue 19). Tickets from before that have it stored; it is listed once either way."""
    stmt = select(SlaEvent).where(SlaEvent.ticket_id == ticket_id).order_by(SlaEvent.seq)
    events = list((await session.execute(stmt)).scalars())
    row = await session.get(TicketSla, ticket_id)
    if row is None or any(e.kind == EventKind.started for e in events):
        return events
    started = _event(ticket_id, EventKind.started, row.started_at, detail=row.category)
    return [started, *events]  # transient: never added to the session


# ---------------------------------------------------------------- escalation


async def escalate_ticket(session: AsyncSession, ticket: Ticket, now: datetime) -> list[int]:
    """Moves a locked ticket up the seed-002 levels its elapsed time has reached, records
    each step with the instant it fell due, and marks a missed first response. Returns
    the levels reached now (none when run again: idempotent)."""
    row = await clock_of(session, ticket)
    cal, _ = await calendar_for(session, ticket)
    m = measure(row, cal, now)
    breached = False
    if row.first_response_at is None and not row.first_response_breached:
        targets = await ticket_targets(session, ticket, Category(row.category))
        target = targets.first_response + await extension_of(session, row, cal, now)
        if m.elapsed > target:
            row.first_response_breached = breached = True
            session.add(
                _event(
                    ticket.id,
                    EventKind.breached,
                    now,
                    level=BREACH_FIRST_RESPONSE,
                    detail="first_response",
                    due_at=cal.add(row.started_at, target + m.paused_working),
                )
            )
    reached: list[int] = []
    if ticket.status not in FINISHED:
        level = policy.escalation_level(ticket.severity, m.wall_elapsed)
        for step in range(row.escalation_level + 1, level + 1):
            threshold = policy.ESCALATION[ticket.severity][step - 1]
            due = now - (m.wall_elapsed - threshold)
            session.add(
                _event(
                    ticket.id,
                    EventKind.escalated,
                    now,
                    level=step,
                    detail=f"to the {policy.ESCALATED_TO[step]}",
                    due_at=due,
                )
            )
            reached.append(step)
        row.escalation_level = max(row.escalation_level, level)
    await session.flush()
    if breached:
        await _emit(session, EventType.sla_breached, ticket, now)
    for step in reached:
        previous = {"sla": {"escalation_level": step - 1}}
        await _emit(session, EventType.sla_escalated, ticket, now, previous)
    return reached


async def sweep_candidates(session: AsyncSession, *, compensation: bool) -> list[str]:
    """Tickets the sweep must look at: running ones below the top level, and (with
    compensation on) ones whose missed first response is not yet compensated."""
    unanswered = TicketSla.first_response_at.is_(None) & TicketSla.first_response_breached.is_(
        False
    )
    stmt = select(TicketSla.ticket_id).where(
        TicketSla.stopped.is_(False), (TicketSla.escalation_level < 2) | unanswered
    )
    ids = set((await session.execute(stmt)).scalars())
    if compensation:
        owed = select(TicketSla.ticket_id).where(
            TicketSla.first_response_breached.is_(True), TicketSla.compensated_at.is_(None)
        )
        ids |= set((await session.execute(owed)).scalars())
    return sorted(ids)
