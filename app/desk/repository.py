"""All SQL of the desk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.customers.models import Customer
from app.desk.models import (
    TICKET_NUMBER_SEQUENCE,
    ConfigVersion,
    Ticket,
    TicketCharge,
    TicketMessage,
)
from app.desk.sla.levels.models import CustomerContractLevel
from app.desk.sla.models import TicketSla

_NEXT_NUMBER = text(f"SELECT nextval('{TICKET_NUMBER_SEQUENCE}')")
# Built once (hot path of a submission): a statement object caches its compiled form.
_DUPLICATE = (
    select(Ticket)
    .where(
        Ticket.customer_id == bindparam("customer_id"),
        Ticket.content_hash == bindparam("content_hash"),
        Ticket.created_at >= bindparam("since"),
    )
    .order_by(Ticket.number.desc())
    .limit(1)
)


async def next_number(session: AsyncSession) -> int:
    """Unique and increasing under concurrency: a sequence."""
    value = await session.scalar(_NEXT_NUMBER)
    return int(value or 1)


async def get_ticket(session: AsyncSession, ticket_id: str, *, lock: bool = False) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_duplicate(
    session: AsyncSession, customer_id: str, content_hash: str, since: datetime
) -> Ticket | None:
    params = {"customer_id": customer_id, "content_hash": content_hash, "since": since}
    return (await session.execute(_DUPLICATE, params)).scalar_one_or_none()


async def current_charge(session: AsyncSession, ticket_id: str) -> TicketCharge | None:
    stmt = (
        select(TicketCharge)
        .where(TicketCharge.ticket_id == ticket_id)
        .order_by(TicketCharge.seq.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def current_charges(session: AsyncSession, ticket_ids: list[str]) -> dict[str, TicketCharge]:
    if not ticket_ids:
        return {}
    stmt = (
        select(TicketCharge)
        .where(TicketCharge.ticket_id.in_(ticket_ids))
        .order_by(TicketCharge.seq)
    )
    return {c.ticket_id: c for c in (await session.execute(stmt)).scalars()}


_latest = aliased(TicketCharge)
# The ticket's current charge: its last row (a transfer back and forth charges again).
_CURRENT_CHARGE = (
    select(TicketCharge.seq)
    .where(TicketCharge.ticket_id == Ticket.id)
    .order_by(TicketCharge.seq.desc())
    .limit(1)
    .scalar_subquery()
)
_LEVEL = (
    select(CustomerContractLevel.level_id)
    .where(CustomerContractLevel.customer_id == Ticket.customer_id)
    .scalar_subquery()
)
_VERSION = (
    select(func.coalesce(func.max(ConfigVersion.version), 0))
    .where(ConfigVersion.name == "desk")
    .scalar_subquery()
)
_PAGE = (
    select(Ticket, _latest, TicketSla, _LEVEL.label("level_id"), _VERSION.label("version"))
    .select_from(Ticket)
    .outerjoin(_latest, _latest.seq == _CURRENT_CHARGE)
    .outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id)
    .execution_options(populate_existing=True)
)
_ONE = _PAGE.where(Ticket.id == bindparam("ticket_id"))


async def ticket_row(session: AsyncSession, ticket_id: str) -> Any:
    """The ticket as `GET /v1/tickets/{id}` reads it: the ticket, its current charge, its
    service-level clock (each None if absent), its customer's contract level id and the
    desk's configuration version (app.desk.reads)."""
    return (await session.execute(_ONE, {"ticket_id": ticket_id})).first()


async def ticket_page(
    session: AsyncSession,
    *,
    limit: int,
    before: int | None,
    customer_id: str | None,
    line: str | None,
    status: str | None,
    partner_id: str | None = None,
    number: int | None = None,
    updated_gte: datetime | None = None,
) -> list[Any]:
    """Rows as `ticket_row`'s, newest first; one more than `limit`, to tell whether another
    page follows. `partner_id`: only the tickets of that partner and its end customers."""
    # The page's ids first, in a subquery of their own (its LIMIT keeps it from being
    # merged): planned as the list alone is, on the filter's index, then joined.
    t = aliased(Ticket)
    ids = select(t.id).order_by(t.number.desc()).limit(limit + 1)
    if before is not None:
        ids = ids.where(t.number < before)
    if customer_id is not None:
        ids = ids.where(t.customer_id == customer_id)
    if line is not None:
        ids = ids.where(t.line == line)
    if status is not None:
        ids = ids.where(t.status == status)
    if number is not None:
        ids = ids.where(t.number == number)
    if updated_gte is not None:
        ids = ids.where(t.updated_at >= updated_gte)
    if partner_id is not None:
        tree = select(Customer.id).where(
            or_(Customer.id == partner_id, Customer.parent_id == partner_id)
        )
        ids = ids.where(t.customer_id.in_(tree))
    page = ids.subquery("page")
    stmt = _PAGE.join(page, page.c.id == Ticket.id).order_by(Ticket.number.desc())
    return list((await session.execute(stmt)).all())


async def list_messages(
    session: AsyncSession, ticket_id: str, *, limit: int, after: int | None, internal: bool
) -> list[TicketMessage]:
    """Oldest first; one row more than `limit`. Without `internal`, notes are left out."""
    stmt = (
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket_id)
        .order_by(TicketMessage.seq)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(TicketMessage.seq > after)
    if not internal:
        stmt = stmt.where(TicketMessage.internal.is_(False))
    return list((await session.execute(stmt)).scalars())


async def move_messages(session: AsyncSession, from_ticket: str, to_ticket: str) -> None:
    await session.execute(
        update(TicketMessage)
        .where(TicketMessage.ticket_id == from_ticket)
        .values(ticket_id=to_ticket)
        .execution_options(synchronize_session=False)
    )
