"""What the desk tells the outside world (integrations.md, Events): each ticket change
records its events in the change's own transaction (`app.kit.events.record_event`).

A mutating desk function takes a `Before` snapshot right after it locks the ticket and
calls `emit_changes` when it is done: the difference says which events happened —
`ticket.charged` (a new charge row), `ticket.refunded` (the charge refunded now),
`ticket.transfer_requested` (now awaiting the customer's consent) and
`ticket.status_changed` (with the old `status`, and `line` when it moved too). Submissions
and public messages emit `ticket.created` and `ticket.message_added` directly.

`data.object` is the ticket as `GET /v1/tickets/{id}` shows it, without the `sla` block
(read it from the API; `sla.*` events carry it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import repository as repo
from app.desk.models import Line, Status, Ticket, TicketCharge, TicketMessage
from app.desk.schemas import ChargeRead, MessageRead, TicketRead
from app.desk.sla import service as sla
from app.desk.sla.hooks import SlaChanged
from app.kit.events import EventType, record_event


def charge_read(charge: TicketCharge | None) -> ChargeRead | None:
    if charge is None:
        return None
    return ChargeRead(
        credits=charge.credits,
        reason=charge.reason,
        refunded=charge.refunded_at is not None,
        refund_reason=charge.refund_reason,
    )


def ticket_read(ticket: Ticket, charge: TicketCharge | None) -> TicketRead:
    return TicketRead(
        id=ticket.id,
        number=ticket.number,
        customer_id=ticket.customer_id,
        line=Line(ticket.line),
        status=Status(ticket.status),
        severity=ticket.severity,
        product=ticket.product,
        version=ticket.version,
        subject=ticket.subject,
        body=ticket.body,
        bug_reference=ticket.bug_reference,
        merged_into=ticket.merged_into,
        metadata=dict(ticket.metadata_ or {}),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        charge=charge_read(charge),
    )


@dataclass(frozen=True, slots=True)
class Before:
    """A locked ticket's state before a change."""

    status: str
    line: str
    charge_seq: int | None
    refunded: bool


async def before(session: AsyncSession, ticket: Ticket) -> Before:
    charge = await repo.current_charge(session, ticket.id)
    return Before(
        status=ticket.status,
        line=ticket.line,
        charge_seq=charge.seq if charge is not None else None,
        refunded=charge is not None and charge.refunded_at is not None,
    )


def _emit(
    session: AsyncSession,
    type: EventType,
    ticket: Ticket,
    obj: TicketRead,
    now: datetime,
    previous: dict[str, Any] | None = None,
) -> None:
    record_event(session, type, customer_id=ticket.customer_id, obj=obj, now=now, previous=previous)


async def emit_changes(session: AsyncSession, ticket: Ticket, was: Before, now: datetime) -> None:
    """The events of the change from `was` to the ticket's state now (flushed first)."""
    await session.flush()
    charge = await repo.current_charge(session, ticket.id)
    obj = ticket_read(ticket, charge)
    moved: dict[str, Any] = {"line": was.line} if ticket.line != was.line else {}
    if charge is not None and charge.seq != was.charge_seq:
        _emit(session, EventType.ticket_charged, ticket, obj, now, moved or None)
    elif charge is not None and charge.refunded_at is not None and not was.refunded:
        _emit(
            session, EventType.ticket_refunded, ticket, obj, now,
            {"charge": {"refunded": False, "refund_reason": None}, **moved},
        )  # fmt: skip
    if ticket.status == Status.awaiting_approval and was.status != Status.awaiting_approval:
        _emit(session, EventType.ticket_transfer_requested, ticket, obj, now)
    if ticket.status != was.status:
        _emit(
            session, EventType.ticket_status_changed, ticket, obj, now,
            {"status": was.status, **moved},
        )  # fmt: skip


def emit_created(
    session: AsyncSession, ticket: Ticket, charge: TicketCharge | None, now: datetime
) -> None:
    """`ticket.created`, and `ticket.charged` when the submission was charged."""
    obj = ticket_read(ticket, charge)
    _emit(session, EventType.ticket_created, ticket, obj, now)
    if charge is not None:
        _emit(session, EventType.ticket_charged, ticket, obj, now)


def emit_message(
    session: AsyncSession, ticket: Ticket, message: TicketMessage, now: datetime
) -> None:
    """`ticket.message_added` for a public message (internal notes are never events)."""
    if message.internal:
        return
    record_event(
        session, EventType.ticket_message_added, customer_id=ticket.customer_id,
        obj=MessageRead.model_validate(message), now=now,
    )  # fmt: skip


async def emit_status(
    session: AsyncSession, ticket: Ticket, was_status: str, now: datetime
) -> None:
    """`ticket.status_changed` for a change made without a `Before` snapshot."""
    obj = ticket_read(ticket, await repo.current_charge(session, ticket.id))
    _emit(session, EventType.ticket_status_changed, ticket, obj, now, {"status": was_status})


async def record_sla(session: AsyncSession, change: SlaChanged) -> None:
    """Subscribed to `SLA_CHANGED`: the `sla.*` event, the ticket with its `sla` block."""
    ticket = change.ticket
    obj = ticket_read(ticket, await repo.current_charge(session, ticket.id))
    obj.sla = await sla.block(session, ticket, change.now)
    _emit(session, change.type, ticket, obj, change.now, change.previous)
