"""The desk's reads: a ticket as `GET /v1/tickets/{id}` shows it, the ticket list and a
ticket's messages (issue 30: out of app.desk.service, and fewer round trips).

A ticket's read is one statement: the ticket, its current charge, its service-level clock,
its customer's contract level and the desk's configuration version, joined. The `sla`
block's calendars, line targets and contract-level targets then come from the per-process
`DeskConfig` that the submission's fast path keeps (app.desk.fast_submit) when the version
read in that statement is the cached one; otherwise (an admin changed them) the cache is
dropped and this request reads them as before. Only the customer's urgent periods and other
features' extension spans are read besides (they change with every ticket).

`load` (the ticket if the principal may see it, locked on request) stays the entry of every
change too, and `packs_catalogue` is what a refused submission lists: app.desk.service
imports both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import repository as repo
from app.desk.events import ticket_read
from app.desk.models import Line, Status, Ticket
from app.desk.schemas import MessageRead, TicketRead
from app.desk.sla import policy
from app.desk.sla import service as sla
from app.desk.sla.calendar import Calendar
from app.desk.sla.models import Category
from app.kit.auth import Principal
from app.kit.errors import NotFound
from app.kit.inputs import INT32_MAX
from app.kit.pagination import Page, cursor_int, keyset_page
from app.settings import Settings


class ConfigCache(Protocol):
    """The process's cached desk configuration (app.desk.fast_submit's `DeskConfig`, which
    imports this module, hence a protocol; app.desk.endpoints gives it)."""

    async def current(self, session: AsyncSession) -> Any:
        """The cached configuration, loaded on this session's connection when there is
        none (never a second connection: a request already holds one)."""

    def drop(self) -> None:
        """Forget it: the database holds a newer version."""


def packs_catalogue(settings: Settings) -> list[dict[str, Any]]:
    """The credit packs as a refused submission lists them (402 `insufficient_credits`)."""
    return [
        {
            "code": p.code,
            "credits": p.credits,
            "price": {"amount": p.price, "currency": settings.currency},
            "valid_days": p.valid_days,
        }
        for p in settings.packs
    ]


async def read(session: AsyncSession, ticket: Ticket, now: datetime | None = None) -> TicketRead:
    """The ticket and its charge; with `now`, its service levels read at that instant."""
    result = ticket_read(ticket, await repo.current_charge(session, ticket.id))
    if now is not None:
        result.sla = await sla.block(session, ticket, now)
    return result


async def load(
    session: AsyncSession, ticket_id: str, principal: Principal, *, lock: bool = False
) -> Ticket:
    """The ticket, if `principal` may see it: a customer key sees only its own."""
    ticket = await repo.get_ticket(session, ticket_id, lock=lock)
    if ticket is None or not principal.sees(ticket.customer_id):
        raise NotFound("No such ticket.")
    return ticket


# ---------------------------------------------------------------- one statement per page


@dataclass
class _ConfiguredReads(sla._Reads):
    """The `sla` blocks' shared reads with calendars, line targets and contract-level
    targets taken from the cached `DeskConfig` instead of queried."""

    config: Any = None
    level_of: dict[str, str | None] = field(default_factory=dict)

    async def calendar(self, session: AsyncSession, ticket: Ticket) -> tuple[Calendar, str]:
        if ticket.severity == 1:  # as sla.calendar_for
            return policy.ALWAYS_OPEN, "24/7"
        return self.config.calendars[ticket.line], ticket.line

    async def target(self, session: AsyncSession, ticket: Ticket, category: str) -> policy.Targets:
        key = (ticket.line, ticket.severity, category)
        line_targets = self.config.targets.get(key)
        if line_targets is None:  # as sla.targets_for
            line_targets = policy.default_targets(
                Line(ticket.line), ticket.severity, Category(category)
            )
        level_id = self.level_of.get(ticket.customer_id)
        level = self.config.levels.get(level_id, {}) if level_id is not None else {}
        return sla.with_level(line_targets, level, ticket.severity, category)


async def _config(session: AsyncSession, fast: ConfigCache | None) -> Any:
    return await fast.current(session) if fast is not None else None


def _shared_reads(fast: ConfigCache | None, config: Any, rows: Sequence[Any]) -> sla._Reads:
    """Pre-filled from the cache when every row read the cached version; else plain (and
    the cache is dropped: the next request reloads it)."""
    if config is None or fast is None or not rows:
        return sla._Reads()
    if any(r.version != config.version for r in rows):
        fast.drop()
        return sla._Reads()
    return _ConfiguredReads(
        config=config, level_of={r.Ticket.customer_id: r.level_id for r in rows}
    )


async def _with_sla(
    session: AsyncSession, rows: Sequence[Any], now: datetime, reads: sla._Reads
) -> list[TicketRead]:
    result = []
    for r in rows:
        item = ticket_read(r.Ticket, r[1])
        item.sla = await sla.block(
            session, r.Ticket, now, clock=r.TicketSla, clock_known=True, reads=reads
        )
        result.append(item)
    return result


async def read_ticket(
    session: AsyncSession,
    ticket_id: str,
    principal: Principal,
    now: datetime,
    fast: ConfigCache | None = None,
) -> TicketRead:
    """`GET /v1/tickets/{id}`: what `read(load(...), now)` answers, in one statement and
    the urgent periods."""
    config = await _config(session, fast)
    row = await repo.ticket_row(session, ticket_id)
    if row is None or not principal.sees(row.Ticket.customer_id):
        raise NotFound("No such ticket.")
    reads = _shared_reads(fast, config, [row])
    return (await _with_sla(session, [row], now, reads))[0]


async def list_tickets(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    customer_id: str | None,
    line: Line | None,
    status: Status | None,
    now: datetime | None = None,
    partner_id: str | None = None,
    number: int | None = None,
    updated_gte: datetime | None = None,
    fast: ConfigCache | None = None,
) -> Page[TicketRead]:
    """Newest first, by customer, line, status, number or last change; `partner_id`: only
    the tickets of that partner and its end customers. One statement for the page."""
    before = cursor_int(cursor, "before", maximum=INT32_MAX)  # ticket numbers are INTEGER
    config = await _config(session, fast) if now is not None else None
    rows = await repo.ticket_page(
        session, limit=limit, before=before, customer_id=customer_id,
        line=line.value if line else None, status=status.value if status else None,
        partner_id=partner_id, number=number, updated_gte=updated_gte,
    )  # fmt: skip
    kept = rows[:limit]
    if now is None:
        items = [ticket_read(r.Ticket, r[1]) for r in kept]
    else:
        items = await _with_sla(session, kept, now, _shared_reads(fast, config, kept))
    answers = iter(items)
    return keyset_page(
        rows, limit, key="before", position=lambda r: r.Ticket.number,
        read=lambda _: next(answers),
    )  # fmt: skip


async def list_messages(
    session: AsyncSession, ticket_id: str, *, principal: Principal, limit: int, cursor: str | None
) -> Page[MessageRead]:
    ticket = await load(session, ticket_id, principal)
    after = cursor_int(cursor, "after")
    rows = await repo.list_messages(
        session, ticket.id, limit=limit, after=after, internal=not principal.is_customer
    )
    return keyset_page(
        rows, limit, key="after", position=lambda m: m.seq, read=MessageRead.model_validate
    )
