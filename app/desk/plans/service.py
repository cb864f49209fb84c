"""Expected completion of planned tasks (seed 000): staff tell the customer when a planned
task (further investigation, diagnostics, a bug fix) should be done, within
`CREDITDESK_EXPECTED_COMPLETION_HOURS` (3) working hours of the ticket's submission, on
the ticket's service-level calendar. Setting it posts a public message on the ticket (so
the customer is told, by mail too). The SLA report flags the tickets where it came late,
and the ones with a confirmed bug (a bug fix is a planned task) still without one past
the deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import service as desk
from app.desk.errors import TicketClosed
from app.desk.models import Status, Ticket
from app.desk.plans.models import TicketPlan
from app.desk.plans.schemas import PlanRead, PlanWrite
from app.desk.sla import service as sla
from app.desk.sla.hooks import ReportBuilt
from app.desk.sla.schemas import LateExpectation
from app.kit.auth import Principal
from app.kit.errors import ValidationFailed
from app.settings import Settings


async def due_at(session: AsyncSession, ticket: Ticket, settings: Settings) -> datetime:
    cal, _ = await sla.calendar_for(session, ticket)
    return cal.add(ticket.created_at, timedelta(hours=settings.expected_completion_hours))


async def _read(
    session: AsyncSession, ticket: Ticket, plan: TicketPlan | None, settings: Settings
) -> PlanRead:
    due = await due_at(session, ticket, settings)
    return PlanRead(
        ticket_id=ticket.id,
        expected_completion_at=plan.expected_completion_at if plan else None,
        first_set_at=plan.first_set_at if plan else None,
        due_at=due,
        in_time=None if plan is None else plan.first_set_at <= due,
    )


async def read_plan(
    session: AsyncSession, ticket_id: str, principal: Principal, settings: Settings
) -> PlanRead:
    ticket = await desk.load(session, ticket_id, principal)
    return await _read(session, ticket, await session.get(TicketPlan, ticket.id), settings)


async def set_plan(
    session: AsyncSession,
    ticket_id: str,
    data: PlanWrite,
    *,
    principal: Principal,
    settings: Settings,
    now: datetime,
) -> PlanRead:
    ticket = await desk.load(session, ticket_id, principal, lock=True)
    if ticket.status == Status.closed:
        raise TicketClosed(f"Ticket #{ticket.number} is closed.")
    if data.expected_completion_at <= now:
        raise ValidationFailed(
            "The expected completion must be in the future.", field="expected_completion_at"
        )
    plan = await session.get(TicketPlan, ticket.id)
    if plan is None:
        plan = TicketPlan(ticket_id=ticket.id, first_set_at=now)
        session.add(plan)
    plan.expected_completion_at, plan.updated_at = data.expected_completion_at, now
    plan.set_by = principal.key_id
    await session.flush()
    when = data.expected_completion_at.isoformat().replace("+00:00", "Z")
    await desk.add_message(
        session, ticket.id, body=f"This task is planned; expected completion: {when}.",
        internal=False, author=principal, settings=settings, now=now,
    )  # fmt: skip
    return await _read(session, ticket, plan, settings)


async def late_in_report(session: AsyncSession, built: ReportBuilt) -> None:
    """Subscribed to `REPORT_BUILT`: flags the period's tickets whose expected completion
    was told after the deadline, or not at all past it for a confirmed bug."""
    settings = built.settings
    stmt = (
        select(Ticket, TicketPlan)
        .outerjoin(TicketPlan, TicketPlan.ticket_id == Ticket.id)
        .where(
            Ticket.created_at >= built.since,
            Ticket.created_at < built.until,
            or_(TicketPlan.ticket_id.is_not(None), Ticket.bug_reference.is_not(None)),
        )
        .order_by(Ticket.number)
    )
    late = []
    for ticket, plan in (await session.execute(stmt)).all():
        due = await due_at(session, ticket, settings)
        told = plan.first_set_at if plan else None
        if (told is not None and told > due) or (told is None and built.now > due):
            late.append(
                LateExpectation(ticket_id=ticket.id, number=ticket.number, due_at=due, set_at=told)
            )
    built.report.expected_completion_late = late
