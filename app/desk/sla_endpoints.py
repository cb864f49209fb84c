"""Service levels over HTTP: calendars and targets (admin), assignment, a ticket's
service-level history, the most-urgent ticket and the report. Thin: the rules live in
app.desk.sla.service. It sits in the desk, above both the desk's service (load and lock a
ticket, read it back) and the SLA's core, which the desk's service itself uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.desk import reads
from app.desk import service as desk
from app.desk.access import TicketInReach
from app.desk.models import Line
from app.desk.schemas import TicketRead
from app.desk.sla import report, service
from app.desk.sla.schemas import (
    AssignmentCreate,
    CalendarRead,
    CalendarWrite,
    SlaEventRead,
    SlaReport,
    TargetRead,
    TargetWrite,
)
from app.kit.auth import BACK_OFFICE, STAFF, Admin, Principal, Role, require_roles
from app.kit.db import Database
from app.kit.deps import get_now, get_settings
from app.kit.errors import problem_responses
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings
from credits import service as ledger

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["service levels"])

READERS = (*STAFF, *BACK_OFFICE)
TICKET_READERS = (Role.customer, *STAFF, *BACK_OFFICE)
ASSIGNERS = (Role.cr_agent, Role.engineer, Role.admin)
URGENT_NAMERS = (Role.customer, *STAFF)
REPORT_READERS = (*STAFF, Role.finance)

SlaReader = Annotated[Principal, Depends(require_roles(*READERS))]
TicketReader = Annotated[Principal, Depends(require_roles(*TICKET_READERS))]
Assigner = Annotated[Principal, Depends(require_roles(*ASSIGNERS))]
UrgentNamer = Annotated[Principal, Depends(require_roles(*URGENT_NAMERS))]
ReportReader = Annotated[Principal, Depends(require_roles(*REPORT_READERS))]


class CalendarList(BaseModel):
    data: list[CalendarRead]


class TargetList(BaseModel):
    data: list[TargetRead]


class SlaHistory(BaseModel):
    data: list[SlaEventRead]


@router.get("/sla/calendars", response_model=CalendarList, responses=problem_responses(401, 403))
async def list_calendars(
    principal: SlaReader,
    session: AsyncSession = Depends(get_session),
) -> CalendarList:
    """Each line's business calendar (`default: true` while the policy's is in force)."""
    return CalendarList(data=await service.list_calendars(session))


@router.put(
    "/sla/calendars/{line}",
    response_model=CalendarRead,
    responses=problem_responses(401, 403, 422),
)
async def put_calendar(
    line: Line,
    body: CalendarWrite,
    principal: Admin,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> CalendarRead:
    """Set a line's time zone, weekly opening hours and holidays (severity 1 stays 24/7)."""
    return await service.put_calendar(session, line, body, now)


@router.get("/sla/targets", response_model=TargetList, responses=problem_responses(401, 403))
async def list_targets(
    principal: SlaReader,
    session: AsyncSession = Depends(get_session),
) -> TargetList:
    """Targets in working minutes for every line, severity and category."""
    return TargetList(data=await service.list_targets(session))


@router.put("/sla/targets", response_model=TargetRead, responses=problem_responses(401, 403, 422))
async def put_target(
    body: TargetWrite,
    principal: Admin,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TargetRead:
    """Set the targets of one line, severity and category (new tickets and open ones)."""
    return await service.put_target(session, body, now)


@router.post(
    "/tickets/{ticket_id}/assign",
    response_model=TicketRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def assign(
    body: AssignmentCreate,
    principal: Assigner,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Record the engineer responsible; the first assignment meets the assignment target."""
    ticket = await desk.load(session, ticket_id, principal, lock=True)
    service.refuse_closed(ticket)
    await service.assign(session, ticket, body.assignee, now)
    return await reads.read(session, ticket, now)


@router.get(
    "/tickets/{ticket_id}/sla/history",
    response_model=SlaHistory,
    responses=problem_responses(401, 403, 404),
)
async def sla_history(
    ticket_id: TicketInReach,
    principal: TicketReader,
    session: AsyncSession = Depends(get_session),
) -> SlaHistory:
    """The ticket's service-level steps, oldest first: pauses, first response, assignment,
    breaches, escalations (with the instant each fell due), compensation."""
    ticket = await desk.load(session, ticket_id, principal)
    events = await service.history(session, ticket.id)
    return SlaHistory(data=[SlaEventRead.model_validate(e) for e in events])


@router.post(
    "/tickets/{ticket_id}/urgent",
    response_model=TicketRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def name_urgent(
    principal: UrgentNamer,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Name the customer's most urgent ticket: while it is open, the targets of their
    other tickets are extended by the working time that passes (seed 000)."""
    ticket = await desk.load(session, ticket_id, principal, lock=True)
    service.refuse_finished(ticket)
    await ledger.lock_customer(session, ticket.customer_id)  # one naming at a time
    await service.name_urgent(session, ticket, now)
    return await reads.read(session, ticket, now)


@router.get(
    "/reports/sla",
    response_model=SlaReport,
    responses={
        200: {"content": {"text/csv": {}}, "description": "met and breached targets"},
        **problem_responses(401, 403, 422),
    },
)
async def sla_report(
    request: Request,
    *,
    from_: date = Query(alias="from", description="first day (UTC), inclusive"),
    to: date = Query(description="last day (UTC), exclusive"),
    format: Literal["json", "csv"] = Query("json", description="json or csv"),
    principal: ReportReader,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> SlaReport | Response:
    """Targets met and breached per line and severity for the tickets reported in
    `[from, to)`, with the median and p90 first response in working hours."""
    report.check_period(from_, to, settings.export_max_days)
    db: Database = request.app.state.db
    # From the read replica when configured (read-only; may miss the last seconds).
    async with db.read_session(session) as reading:
        result = await report.build(reading, from_, to, now, settings)
    if format == "csv":
        filename = f"sla_{from_.isoformat()}_{to.isoformat()}.csv"
        return Response(
            report.to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return result
