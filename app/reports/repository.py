"""The usage report's sums, straight from the journal (charges and refunds of credits) and
the desk's own rows (tickets, partners' 0-credit charges): no second bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.desk.models import ChargeReason, Ticket, TicketCharge
from billing.exports.periods import Period
from credits import accounts as acc
from credits.models import JournalLine, JournalTransaction

L, T = JournalLine, JournalTransaction


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    name: str
    partner: bool


async def tickets_opened(session: AsyncSession, period: Period) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(Ticket.customer_id, Ticket.line, func.count())
        .where(Ticket.created_at >= period.start, Ticket.created_at < period.end)
        .group_by(Ticket.customer_id, Ticket.line)
    )
    return {(cid, line): int(n) for cid, line, n in rows}


async def consumed_credits(
    session: AsyncSession, period: Period, kind: str
) -> dict[tuple[str, str | None], int]:
    """Σ CREDIT lines on `credits:consumed` of the period's `kind` transactions, by
    customer and reason: what charges took (kind `charge`) and what refunds of charges gave
    back (kind `refund`, as a positive number)."""
    rows = await session.execute(
        select(T.customer_id, T.reason, func.sum(L.amount))
        .join(T, T.seq == L.transaction_seq)
        .where(
            T.kind == kind,
            T.posted_at >= period.start,
            T.posted_at < period.end,
            L.account == acc.CONSUMED,
            L.unit == acc.CREDIT,
        )
        .group_by(T.customer_id, T.reason)
    )
    sign = 1 if kind == "charge" else -1
    return {(cid, reason): sign * int(total) for cid, reason, total in rows if cid is not None}


async def partner_charges(session: AsyncSession, period: Period) -> dict[str, int]:
    rows = await session.execute(
        select(Ticket.customer_id, func.count())
        .select_from(TicketCharge)
        .join(Ticket, Ticket.id == TicketCharge.ticket_id)
        .where(
            TicketCharge.reason == ChargeReason.partner.value,
            TicketCharge.created_at >= period.start,
            TicketCharge.created_at < period.end,
        )
        .group_by(Ticket.customer_id)
    )
    return {cid: int(n) for cid, n in rows}


async def customers(session: AsyncSession, ids: set[str]) -> dict[str, CustomerInfo]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Customer.id, Customer.name, Customer.partner).where(Customer.id.in_(sorted(ids)))
    )
    return {cid: CustomerInfo(name, bool(partner)) for cid, name, partner in rows}
