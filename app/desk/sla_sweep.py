"""The escalation sweep: run periodically by the server (app.tasks) and by
`creditdesk escalate`. Idempotent: each ticket is handled in its own transaction under its
lock, and a level or a compensation already recorded is never recorded again.

It sits in the desk, above both the desk's service (the refund) and the SLA's core, which
the desk's service itself uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import repository as desk_repo
from app.desk import service as desk
from app.desk.models import RefundReason, Ticket
from app.desk.sla import service as sla
from app.desk.sla.models import EventKind, SlaEvent
from app.kit.clock import Clock
from app.kit.db import Database
from app.settings import Settings

ACTOR = "system:sla"


@dataclass
class SweepResult:
    checked: int = 0
    escalations: list[tuple[int, int]] = field(default_factory=list)  # (ticket number, level)
    compensated: list[int] = field(default_factory=list)  # ticket numbers refunded

    def render(self) -> str:
        steps = ", ".join(f"#{n} → level {lvl}" for n, lvl in self.escalations) or "none"
        refunds = ", ".join(f"#{n}" for n in self.compensated) or "none"
        return f"checked {self.checked} ticket(s); escalated: {steps}; compensated: {refunds}"


async def compensate(session: AsyncSession, ticket: Ticket, now: datetime) -> bool:
    """A missed first response refunds the ticket's credit once (`sla_breach`), through
    the desk's refund, which checks the charge under the ticket's lock (the caller holds
    it): a charge already refunded for another reason is not refunded again."""
    row = await sla.clock_of(session, ticket)
    if not row.first_response_breached or row.compensated_at is not None:
        return False
    refunded = await desk.refund(session, ticket, RefundReason.sla_breach, now=now, actor=ACTOR)
    row.compensated_at = now
    session.add(
        SlaEvent(
            ticket_id=ticket.id,
            kind=EventKind.compensated.value,
            detail="credit refunded" if refunded else "nothing to refund",
            occurred_at=now,
        )
    )
    await session.flush()
    return refunded


async def sweep(db: Database, now: datetime, settings: Settings) -> SweepResult:
    result = SweepResult()
    compensation = settings.sla_compensation_enabled
    async with db.unit_of_work() as session:
        ids = await sla.sweep_candidates(session, compensation=compensation)
    for ticket_id in ids:
        async with db.unit_of_work() as session:
            ticket = await desk_repo.get_ticket(session, ticket_id, lock=True)
            if ticket is None:
                continue
            result.checked += 1
            for level in await sla.escalate_ticket(session, ticket, now):
                result.escalations.append((ticket.number, level))
            if compensation and await compensate(session, ticket, now):
                result.compensated.append(ticket.number)
    return result


async def escalate_tickets(db: Database, clock: Clock, settings: Settings) -> None:
    """The periodic job (app.tasks.JOBS)."""
    await sweep(db, clock.now(), settings)
