"""Small-change hours (seed 001 §2.4: "the allotted time for working on changes does not
exceed 10 hours per month"). Each customer has a monthly allowance
(`CREDITDESK_CHANGE_HOURS_PER_MONTH`, or their own), used up by work that engineers log on
the customer's tickets. Months follow the technical line's calendar; what is not used
does not carry over.

Work beyond the allowance follows `CREDITDESK_CHANGE_OVER_ALLOWANCE`:
- `refuse`: `409 change_hours_exhausted`, nothing logged;
- `charge`: logged, and `CREDITDESK_CHANGE_HOUR_CREDITS` credits are charged per started
  hour beyond the allowance in the month, through the ledger, in the same transaction
  (`402 insufficient_credits` and nothing logged when the customer has too few). These
  charges are never refunded automatically: a mistaken log is put right by an admin
  adjustment.

Every log is taken under the customer's wallet lock, so two logs cannot both use the last
hour of the allowance."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.desk import service as desk
from app.desk.changes.models import ChangeAllowance, WorkLog
from app.desk.changes.schemas import WorkLogCreate, WorkLogCreated, WorkLogRead
from app.desk.errors import TicketClosed
from app.desk.models import Line, Status
from app.desk.sla import service as sla
from app.kit.auth import Principal
from app.kit.errors import Conflict
from app.kit.ids import new_id
from app.settings import Settings
from credits import service as ledger
from credits.errors import InsufficientCredits
from credits.hooks import BalanceBuilt
from credits.schemas import ChangeHoursRead


class ChangeHoursExhausted(Conflict):
    code = "change_hours_exhausted"


async def month_of(session: AsyncSession, now: datetime) -> str:
    cal, _ = await sla.line_calendar(session, Line.technical)
    return now.astimezone(cal.tz).strftime("%Y-%m")


async def allowance_minutes(session: AsyncSession, customer_id: str, settings: Settings) -> int:
    own = await session.get(ChangeAllowance, customer_id)
    if own is not None:
        return own.minutes_per_month
    return round(settings.change_hours_per_month * 60)


async def _used(session: AsyncSession, customer_id: str, month: str) -> tuple[int, int]:
    stmt = select(
        func.coalesce(func.sum(WorkLog.minutes), 0),
        func.coalesce(func.sum(WorkLog.over_minutes), 0),
    ).where(WorkLog.customer_id == customer_id, WorkLog.month == month)
    used, over = (await session.execute(stmt)).one()
    return int(used), int(over)


async def balance(
    session: AsyncSession, customer_id: str, settings: Settings, now: datetime
) -> ChangeHoursRead:
    month = await month_of(session, now)
    allowance = await allowance_minutes(session, customer_id, settings)
    used, over = await _used(session, customer_id, month)
    return ChangeHoursRead(
        month=month, allowance_minutes=allowance, used_minutes=used,
        remaining_minutes=max(allowance - (used - over), 0), over_minutes=over,
        over_allowance=settings.change_over_allowance,
    )  # fmt: skip


async def add_to_balance(session: AsyncSession, built: BalanceBuilt) -> None:
    """Subscribed to the ledger's `BALANCE_BUILT`: this month's small-change hours."""
    built.balance.change_hours = await balance(
        session, built.balance.customer_id, built.settings, built.now
    )


async def set_allowance(
    session: AsyncSession, customer_id: str, hours: float | None, settings: Settings, now: datetime
) -> ChangeHoursRead:
    await customers.get_customer(session, customer_id)
    own = await session.get(ChangeAllowance, customer_id)
    if hours is None:
        if own is not None:
            await session.delete(own)
    elif own is None:
        session.add(
            ChangeAllowance(
                customer_id=customer_id, minutes_per_month=round(hours * 60), updated_at=now
            )
        )
    else:
        own.minutes_per_month, own.updated_at = round(hours * 60), now
    await session.flush()
    return await balance(session, customer_id, settings, now)


async def log_work(
    session: AsyncSession,
    ticket_id: str,
    data: WorkLogCreate,
    *,
    principal: Principal,
    settings: Settings,
    now: datetime,
) -> WorkLogCreated:
    ticket = await desk.load(session, ticket_id, principal, lock=True)
    if ticket.status == Status.closed:
        raise TicketClosed(f"Ticket #{ticket.number} is closed; log the work on an open ticket.")
    month = await month_of(session, now)
    wallet = await ledger.lock_customer(session, ticket.customer_id)  # after the ticket: lock order
    allowance = await allowance_minutes(session, ticket.customer_id, settings)
    used, over = await _used(session, ticket.customer_id, month)
    left = max(allowance - (used - over), 0)
    beyond = max(data.minutes - left, 0)
    if beyond and settings.change_over_allowance == "refuse":
        raise ChangeHoursExhausted(
            f"This work would exceed the customer's {allowance // 60} h of small changes "
            f"for {month} by {beyond} minutes ({left} minutes left; seed 001 §2.4). Nothing "
            "was logged; agree the extra work with the customer separately.",
            month=month, remaining_minutes=left, requested_minutes=data.minutes,
        )  # fmt: skip
    credits = (
        math.ceil((over + beyond) / 60) - math.ceil(over / 60)
    ) * settings.change_hour_credits
    transaction_id = None
    if credits:
        try:
            posted = await ledger.charge(
                session, ticket.customer_id, now=now, credits=credits, ticket_id=ticket.id,
                ticket_number=ticket.number, reason="change_hours", actor=principal.key_id,
                memo=f"{beyond} min beyond the {month} allowance", wallet=wallet,
            )  # fmt: skip
        except InsufficientCredits as exc:
            raise InsufficientCredits(
                f"Work beyond the {month} allowance costs {credits} credit(s) and the "
                "customer has too few; nothing was logged.",
                available=exc.extra.get("available", 0), required=credits,
                packs=desk.packs_catalogue(settings),
            ) from exc  # fmt: skip
        transaction_id = posted.transaction.id
    log = WorkLog(
        id=new_id("wrk"), ticket_id=ticket.id, customer_id=ticket.customer_id, month=month,
        minutes=data.minutes, over_minutes=beyond, credits=credits, transaction_id=transaction_id,
        note=data.note, created_by=principal.key_id, created_at=now,
    )  # fmt: skip
    session.add(log)
    await session.flush()
    return WorkLogCreated(
        **WorkLogRead.model_validate(log).model_dump(),
        balance=await balance(session, ticket.customer_id, settings, now),
    )


async def list_logs(
    session: AsyncSession, ticket_id: str, principal: Principal
) -> list[WorkLogRead]:
    ticket = await desk.load(session, ticket_id, principal)
    stmt = (
        select(WorkLog)
        .where(WorkLog.ticket_id == ticket.id)
        .order_by(WorkLog.created_at, WorkLog.id)
    )
    return [WorkLogRead.model_validate(w) for w in (await session.execute(stmt)).scalars()]
