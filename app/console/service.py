"""The staff console's rules: short-lived sessions for staff browsers, the queue ordered by
the next service-level due time, and a customer's phone calls left today.

A console session is an `api_keys` row with the staff member's role and an `expires_at`,
like the cabinet's portal sessions: it authenticates through the same code as any key, so
every route's role checks apply to it unchanged, and the long-lived staff key never has to
sit in a browser. Its token starts `cds_`, which is how a session is told from a key."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.schemas import CallAllowanceRead, QueueItem, QueuePage
from app.customers import service as customers
from app.customers.models import Customer
from app.desk import repository as tickets_repo
from app.desk.calls import repository as calls_repo
from app.desk.events import ticket_read
from app.desk.models import Line, Status, Ticket
from app.desk.sla import service as sla
from app.desk.sla.models import TicketSla
from app.desk.sla.schemas import SlaRead
from app.kit.auth import STAFF, ApiKey, Principal, hash_secret
from app.kit.errors import Forbidden, NotFound
from app.kit.ids import new_id
from app.settings import Settings

CONSOLE_PREFIX = "cds_"
# The unfinished tickets one queue reads, oldest first: the SLA clocks are worked out in
# Python (business calendars), so the order cannot come from an index.
QUEUE_SCAN = 2000
WAITING = (Status.open, Status.awaiting_approval, Status.in_progress, Status.waiting_on_customer)
TARGETS = ("first_response", "assignment", "resolution")


def refuse_non_staff(principal: Principal) -> None:
    if principal.role not in STAFF:
        role = principal.role.value
        article = "An" if role[0] in "aeiou" else "A"
        raise Forbidden(
            "The console is for staff: sign in with an admin, cr_agent or engineer key. "
            f"{article} {role} key gets no console session"
            + (" (customers use the cabinet)." if principal.is_customer else ".")
        )


def is_console_session(key: ApiKey) -> bool:
    return key.prefix.startswith(CONSOLE_PREFIX)


async def create_session(
    session: AsyncSession, principal: Principal, *, now: datetime, lifetime: timedelta
) -> tuple[ApiKey, str]:
    """A new session for the staff member whose long-lived key signs in. A session cannot
    mint another: it would extend itself for ever."""
    refuse_non_staff(principal)
    staff = await session.get(ApiKey, principal.key_id)
    assert staff is not None  # it authenticated this request
    if is_console_session(staff):
        raise Forbidden("Sign in with your staff key: a console session cannot start another.")
    token = CONSOLE_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"), name=staff.name, role=staff.role, customer_id=staff.customer_id,
        prefix=token[: len(CONSOLE_PREFIX) + 6], secret_hash=hash_secret(token),
        created_at=now, expires_at=now + lifetime, parent_key_id=staff.id,
    )  # fmt: skip
    session.add(key)
    await session.flush()
    return key, token


async def current_session(session: AsyncSession, principal: Principal) -> ApiKey:
    """The session the caller signed in with; a long-lived key has none (404, as for the
    cabinet's `DELETE /v1/portal-sessions/current`), and is never revoked here."""
    key = await session.get(ApiKey, principal.key_id)
    if key is None or not is_console_session(key):
        raise NotFound(
            "No console session: this is a long-lived key (an admin revokes it with "
            "`DELETE /v1/api-keys/{id}`)."
        )
    return key


async def end_session(session: AsyncSession, principal: Principal, now: datetime) -> None:
    key = await current_session(session, principal)
    key.revoked_at = now  # it authenticated this request: not revoked before
    await session.flush()


# ---------------------------------------------------------------- the queue


def next_due(block: SlaRead) -> tuple[datetime | None, str | None]:
    """The earliest target still pending (overdue ones included): what the desk works on
    next. Met targets have no `due_at`; a stopped ticket has none pending."""
    if block.state == "stopped":
        return None, None
    pending = [(getattr(block, name).due_at, name) for name in TARGETS]
    dated = [(due, name) for due, name in pending if due is not None]
    return min(dated) if dated else (None, None)


def _filtered(filters: dict[str, Any]) -> Any:
    statuses = [filters["status"]] if filters.get("status") else list(WAITING)
    stmt = (
        select(Ticket, Customer.name, Customer.partner)
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.status.in_([s.value for s in statuses]))
        .order_by(Ticket.number)
        .limit(QUEUE_SCAN + 1)
    )
    if filters.get("line") is not None:
        stmt = stmt.where(Ticket.line == filters["line"].value)
    if filters.get("severity") is not None:
        stmt = stmt.where(Ticket.severity == filters["severity"])
    if filters.get("customer_id") is not None:
        stmt = stmt.where(Ticket.customer_id == filters["customer_id"])
    if filters.get("partner") is not None:
        stmt = stmt.where(Customer.partner.is_(filters["partner"]))
    if filters.get("partner_id") is not None:
        pid = filters["partner_id"]
        stmt = stmt.where(or_(Customer.id == pid, Customer.parent_id == pid))
    if filters.get("unassigned"):
        stmt = stmt.outerjoin(TicketSla, TicketSla.ticket_id == Ticket.id).where(
            TicketSla.assignee.is_(None)
        )
    elif filters.get("assignee") is not None:
        stmt = stmt.join(TicketSla, TicketSla.ticket_id == Ticket.id).where(
            TicketSla.assignee == filters["assignee"]
        )
    return stmt


async def queue(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    line: Line | None = None,
    status: Status | None = None,
    severity: int | None = None,
    assignee: str | None = None,
    unassigned: bool = False,
    customer_id: str | None = None,
    partner: bool | None = None,
    partner_id: str | None = None,
) -> QueuePage:
    """Unfinished tickets matching the filters, soonest due (or overdue) first; tickets with
    no target pending come last, oldest first."""
    filters = {
        "line": line, "status": status, "severity": severity, "assignee": assignee,
        "unassigned": unassigned, "customer_id": customer_id, "partner": partner,
        "partner_id": partner_id,
    }  # fmt: skip
    rows = list((await session.execute(_filtered(filters))).all())
    truncated = len(rows) > QUEUE_SCAN
    rows = rows[:QUEUE_SCAN]
    found: Sequence[Ticket] = [row[0] for row in rows]
    charges = await tickets_repo.current_charges(session, [t.id for t in found])
    blocks = await sla.blocks(session, found, now)
    items = []
    for (ticket, name, is_partner), block in zip(rows, blocks, strict=True):
        due_at, due = next_due(block)
        read = ticket_read(ticket, charges.get(ticket.id))
        read.sla = block
        extra = {"customer_name": name, "customer_partner": is_partner}
        items.append(QueueItem(**read.model_dump(), **extra, next_due_at=due_at, next_due=due))
    items.sort(key=lambda i: (i.next_due_at is None, i.next_due_at or now, i.number))
    return QueuePage(data=items[:limit], total=len(items), truncated=truncated)


# ---------------------------------------------------------------- phone calls


async def call_allowance(
    session: AsyncSession, customer_id: str, *, settings: Settings, now: datetime
) -> CallAllowanceRead:
    """Today's calls against the daily limit, counted as `log_call` counts them: the local
    date in the technical line's calendar."""
    await customers.get_customer(session, customer_id)
    cal, _ = await sla.line_calendar(session, Line.technical)
    day = now.astimezone(cal.tz).date()
    taken = await calls_repo.count_on_day(session, customer_id, day)
    return CallAllowanceRead(
        day=day, calls=taken, limit=settings.calls_per_day,
        remaining=max(0, settings.calls_per_day - taken), max_minutes=settings.call_max_minutes,
    )  # fmt: skip
