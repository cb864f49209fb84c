"""Tickets over HTTP: thin handlers; the rules live in app.desk.service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import reads, service
from app.desk.access import TicketInReach
from app.desk.errors import BugAlreadyConfirmed, DuplicateTicket
from app.desk.fast_submit import DeskConfig, FastSubmit, load_config
from app.desk.models import Line, Status
from app.desk.schemas import (
    BugConfirmationCreate,
    MergeCreate,
    MessageCreate,
    MessageRead,
    OutOfScopeCreate,
    StatusChange,
    TicketCreate,
    TicketRead,
    TransferCreate,
)
from app.kit.access import ListScope, body_customer_guard
from app.kit.auth import BACK_OFFICE, STAFF, Principal, Role, Staff, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import ValidationFailed, problem_responses
from app.kit.inputs import INT32_MAX, Instant
from app.kit.pagination import Cursor, Limit, Page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["tickets"])

# Who may do what (api.md): people who work tickets write; back office may read.
SUBMITTERS = (Role.customer, Role.cr_agent, Role.admin, Role.integration)
READERS = (Role.customer, *STAFF, *BACK_OFFICE)
WRITERS = (Role.customer, *STAFF)
TRANSFERRERS = (Role.cr_agent, Role.engineer, Role.admin)
CONSENTERS = (Role.customer, Role.admin)
ENGINEERS = (Role.engineer, Role.admin)

Submitter = Annotated[Principal, Depends(require_roles(*SUBMITTERS))]
TicketReader = Annotated[Principal, Depends(require_roles(*READERS))]
TicketWriter = Annotated[Principal, Depends(require_roles(*WRITERS))]
Transferrer = Annotated[Principal, Depends(require_roles(*TRANSFERRERS))]
Consenter = Annotated[Principal, Depends(require_roles(*CONSENTERS))]
Engineer = Annotated[Principal, Depends(require_roles(*ENGINEERS))]
# The body's `customer_id` (staff and partners name the customer), if in reach.
NamedCustomer = Annotated[str | None, Depends(body_customer_guard(TicketCreate))]


@dataclass(frozen=True, slots=True)
class DeskCache:
    """The process's cached desk configuration (app.desk.fast_submit), which the reads'
    `sla` blocks use while its version is current (app.desk.reads.ConfigCache)."""

    fast: FastSubmit

    async def current(self, session: AsyncSession) -> DeskConfig:
        config = self.fast.config
        if config is None:  # loaded on the request's own connection: it holds one already
            config = self.fast.config = await load_config(session)
        return config

    def drop(self) -> None:
        self.fast.config = None


def desk_cache(request: Request) -> DeskCache | None:
    fast: FastSubmit | None = getattr(request.app.state, "fast_submit", None)
    return DeskCache(fast) if fast is not None else None


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketRead,
    responses=problem_responses(402, 403, 404, DuplicateTicket, 409),
)
async def submit_ticket(
    body: TicketCreate,
    principal: Submitter,
    named: NamedCustomer,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Submit a ticket; on the technical line it costs 1 credit, charged in the same
    transaction (402 `insufficient_credits` with the packs when there is none)."""
    # On PostgreSQL the common case is answered before this handler, in one statement
    # (app.desk.fast_submit, declared in app.desk.feature): this is the general path.
    if principal.is_customer:
        assert principal.customer_id is not None
        customer_id = principal.customer_id  # `named` is None or this one
    elif named is None:
        raise ValidationFailed("Staff must name the customer: `customer_id`.", field="customer_id")
    else:
        customer_id = named
    return await service.submit_and_read(
        session, body, customer_id=customer_id, author=principal, settings=settings, now=now
    )


@router.get(
    "/tickets", response_model=Page[TicketRead], responses=problem_responses(401, 403, 404, 422)
)
async def list_tickets(
    request: Request,
    *,
    limit: Limit = 50,
    cursor: Cursor = None,
    scope: ListScope,
    line: Line | None = None,
    status: Status | None = None,
    number: int | None = Query(default=None, ge=1, le=INT32_MAX, description="the ticket's number"),
    updated_gte: Instant | None = None,
    principal: TicketReader,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Page[TicketRead]:
    """List tickets, newest first, by customer, line, status, number or last change. A
    customer key lists its own only; a partner's key its own and its end customers'."""
    return await reads.list_tickets(
        session, limit=limit, cursor=cursor, customer_id=scope.customer_id, line=line,
        status=status, now=now, partner_id=scope.partner_id, number=number,
        updated_gte=updated_gte, fast=desk_cache(request),
    )  # fmt: skip


@router.get(
    "/tickets/{ticket_id}", response_model=TicketRead, responses=problem_responses(401, 403, 404)
)
async def get_ticket(
    request: Request,
    ticket_id: TicketInReach,
    principal: TicketReader,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Read a ticket, its charge and its service levels."""
    return await reads.read_ticket(session, ticket_id, principal, now, desk_cache(request))


@router.post(
    "/tickets/{ticket_id}/messages",
    status_code=201,
    response_model=MessageRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_message(
    body: MessageCreate,
    principal: TicketWriter,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> MessageRead:
    """Add a message (free) or, for staff, an internal note customers never see."""
    message = await service.add_message(
        session, ticket_id, body=body.body, internal=body.internal, author=principal,
        settings=settings, now=now,
    )  # fmt: skip
    return MessageRead.model_validate(message)


@router.get(
    "/tickets/{ticket_id}/messages",
    response_model=Page[MessageRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_messages(
    *,
    ticket_id: TicketInReach,
    limit: Limit = 50,
    cursor: Cursor = None,
    principal: TicketReader,
    session: AsyncSession = Depends(get_session),
) -> Page[MessageRead]:
    """The ticket's messages, oldest first (customers do not see internal notes)."""
    return await reads.list_messages(
        session, ticket_id, principal=principal, limit=limit, cursor=cursor
    )


@router.post(
    "/tickets/{ticket_id}/transfer",
    response_model=TicketRead,
    responses=problem_responses(401, 402, 403, 404, 409, 422),
)
async def transfer(
    body: TransferCreate,
    principal: Transferrer,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Move a ticket between lines. To technical it awaits the customer's consent (partners
    and auto-accepting customers are charged at once); back to customer relations it is
    refunded."""
    ticket = await service.transfer(
        session, ticket_id, body.to_line, principal=principal, settings=settings, now=now
    )
    return await reads.read(session, ticket, now)


async def _answer(
    ticket_id: str, accept: bool, principal: Principal, session: AsyncSession,
    settings: Settings, now: datetime,
) -> TicketRead:  # fmt: skip
    ticket = await service.answer_transfer(
        session, ticket_id, accept=accept, principal=principal, settings=settings, now=now
    )
    return await reads.read(session, ticket, now)


@router.post(
    "/tickets/{ticket_id}/transfer/accept",
    response_model=TicketRead,
    responses=problem_responses(401, 402, 403, 404, 409),
)
async def accept_transfer(
    principal: Consenter,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Consent to a transfer to technical support: 1 credit is charged (402 if none)."""
    return await _answer(ticket_id, True, principal, session, settings, now)


@router.post(
    "/tickets/{ticket_id}/transfer/decline",
    response_model=TicketRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def decline_transfer(
    principal: Consenter,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Refuse a transfer: the ticket stays on the free line, nothing is charged."""
    return await _answer(ticket_id, False, principal, session, settings, now)


@router.post(
    "/tickets/{ticket_id}/merge",
    response_model=TicketRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def merge(
    body: MergeCreate,
    principal: Staff,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Close a duplicate into another ticket of the same customer; its credit is refunded
    and its messages move there."""
    ticket = await service.merge(session, ticket_id, body.into, principal=principal, now=now)
    return await reads.read(session, ticket, now)


@router.post(
    "/tickets/{ticket_id}/out-of-scope",
    response_model=TicketRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def out_of_scope(
    body: OutOfScopeCreate,
    principal: Engineer,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Not a technical-support matter: refunded and moved back to the free line."""
    ticket = await service.mark_out_of_scope(
        session, ticket_id, body.reason, principal=principal, now=now
    )
    return await reads.read(session, ticket, now)


@router.post(
    "/tickets/{ticket_id}/bug-confirmation",
    response_model=TicketRead,
    responses=problem_responses(401, 403, 404, BugAlreadyConfirmed, 409, 422),
)
async def confirm_bug(
    body: BugConfirmationCreate,
    principal: Engineer,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Confirm a product bug: the ticket's credit is refunded, once."""
    ticket = await service.confirm_bug(
        session, ticket_id, body.bug_reference, principal=principal, now=now
    )
    return await reads.read(session, ticket, now)


@router.post(
    "/tickets/{ticket_id}/status",
    response_model=TicketRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def change_status(
    body: StatusChange,
    principal: TicketWriter,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> TicketRead:
    """Change the status (409 `invalid_transition` when the machine forbids it). A
    customer may reopen a resolved ticket within the window, or close one."""
    ticket = await service.change_status(
        session, ticket_id, body.status, principal=principal, settings=settings, now=now
    )
    return await reads.read(session, ticket, now)
