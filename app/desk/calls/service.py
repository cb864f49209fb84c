"""Phone consultations (seed 000): logged by staff, at most `CREDITDESK_CALLS_PER_DAY` (3)
per customer and working day (409 `call_limit_reached`), each at most
`CREDITDESK_CALL_MAX_MINUTES` (15; 422 `call_too_long`). A call extends the service-level
targets of the customer's tickets by its duration in working time, like the most-urgent
ticket does, except the ticket the call was about (app.desk.sla.service reads the calls).

The working day is the local date in the technical line's calendar: CreditDesk keeps
calendars per line, and a phone consultation is technical support. The count is taken
under the customer's wallet lock, so two calls logged at once cannot both be the third."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.desk import service as desk
from app.desk.calls import repository as repo
from app.desk.calls.models import CustomerCall
from app.desk.calls.schemas import CallCreate, CallRead
from app.desk.models import Line
from app.desk.sla import service as sla
from app.desk.sla.hooks import ExtensionSpans, ReportBuilt
from app.desk.sla.models import UrgentPeriod
from app.desk.sla.schemas import CallsSummary
from app.kit.auth import Principal
from app.kit.errors import Conflict, NotFound, ValidationFailed
from app.kit.ids import new_id
from app.kit.pagination import Page, cursor_instant_id, encode_cursor
from app.settings import Settings
from credits import service as ledger


class CallTooLong(ValidationFailed):
    code = "call_too_long"


class CallInFuture(ValidationFailed):
    code = "call_in_future"


class CallLimitReached(Conflict):
    code = "call_limit_reached"


async def log_call(
    session: AsyncSession,
    customer_id: str,
    data: CallCreate,
    *,
    principal: Principal,
    settings: Settings,
    now: datetime,
) -> CallRead:
    await customers.get_customer(session, customer_id)  # 404 first
    if data.duration_minutes > settings.call_max_minutes:
        raise CallTooLong(
            f"A phone consultation lasts at most {settings.call_max_minutes} minutes (seed "
            f"000); this one took {data.duration_minutes}. Ask the customer to file a ticket.",
            field="duration_minutes", limit=settings.call_max_minutes,
        )  # fmt: skip
    if data.started_at > now:
        raise CallInFuture("A call is logged once it has begun.", field="started_at")
    if data.ticket_id is not None:
        ticket = await desk.load(session, data.ticket_id, principal)
        if ticket.customer_id != customer_id:
            raise NotFound("No such ticket.")
    cal, _ = await sla.line_calendar(session, Line.technical)
    day = data.started_at.astimezone(cal.tz).date()
    await ledger.lock_customer(session, customer_id)  # the customer's lock: one count at a time
    taken = await repo.count_on_day(session, customer_id, day)
    if taken >= settings.calls_per_day:
        raise CallLimitReached(
            f"The customer has had {taken} phone consultations on {day.isoformat()}, the "
            f"most a working day allows (seed 000: {settings.calls_per_day}). Ask them to "
            "file a ticket.",
            day=day.isoformat(), calls=taken, limit=settings.calls_per_day,
        )  # fmt: skip
    started = data.started_at
    call = CustomerCall(
        id=new_id("call"), customer_id=customer_id, ticket_id=data.ticket_id,
        started_at=started, ended_at=started + timedelta(minutes=data.duration_minutes),
        duration_minutes=data.duration_minutes, day=day, topic=data.topic,
        verified=data.verified, created_by=principal.key_id, created_at=now,
    )  # fmt: skip
    session.add(call)
    await session.flush()
    return CallRead.model_validate(call)


async def list_calls(
    session: AsyncSession, customer_id: str, *, limit: int, cursor: str | None
) -> Page[CallRead]:
    await customers.get_customer(session, customer_id)
    before = cursor_instant_id(cursor, "at", "id")
    rows = await repo.page(session, customer_id, limit=limit, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return Page(
        data=[CallRead.model_validate(c) for c in rows],
        next_cursor=encode_cursor({"at": last.started_at.isoformat(), "id": last.id})
        if more and last
        else None,
    )


async def extend_by_calls(session: AsyncSession, collected: ExtensionSpans) -> None:
    """Subscribed to the clock's `EXTENSION_SPANS`: each call extends the customer's
    tickets for its duration, except the ticket it was about (seed 000)."""
    collected.spans += [
        UrgentPeriod(
            customer_id=c.customer_id, ticket_id=c.ticket_id or "", started_at=c.started_at,
            ended_at=c.ended_at,
        )
        for c in await repo.for_customer(session, collected.customer_id)
    ]  # fmt: skip


async def count_in_report(session: AsyncSession, built: ReportBuilt) -> None:
    """Subscribed to `REPORT_BUILT`: the calls begun in the report's period."""
    calls = await repo.in_period(session, built.since, built.until)
    built.report.calls = CallsSummary(
        calls=len(calls), minutes=sum(c.duration_minutes for c in calls),
        verified=sum(c.verified for c in calls), customers=len({c.customer_id for c in calls}),
    )  # fmt: skip
