"""The e-mail channel over HTTP: inbound mail from relays, contacts, attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.desk import service as desk
from app.desk.access import TicketInReach
from app.desk.models import Ticket
from app.email import contacts, repository, service
from app.email.models import (
    EmailAttachment,
    EmailContact,
    InboundEmail,
    OutboxEmail,
    OutboxStatus,
    Outcome,
)
from app.email.schemas import (
    AttachmentList,
    AttachmentRead,
    ContactCreate,
    ContactList,
    ContactRead,
    InboundRead,
    InboundResult,
    OutboxRead,
)
from app.kit.access import CustomerInReach, EveryCustomer, owned_guard
from app.kit.auth import (
    BACK_OFFICE,
    STAFF,
    Admin,
    IntegrationOrAdmin,
    Principal,
    Role,
    Staff,
    require_roles,
)
from app.kit.deps import get_now, get_settings
from app.kit.errors import NotFound, ValidationFailed, problem_responses
from app.kit.pagination import Cursor, Limit, Page, keyset_page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["email"])
READERS = (Role.customer, *STAFF, *BACK_OFFICE)

MailReader = Annotated[Principal, Depends(require_roles(*READERS))]
ContactInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(EmailContact.customer_id).where(
                EmailContact.id == bindparam("contact_id"),
                EmailContact.customer_id == bindparam("customer_id"),
            ),
            {"customer_id": "`cus_…`", "contact_id": "`ctc_…`"},
            noun="contact",
        )
    ),
]
AttachmentInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(Ticket.customer_id)
            .join(EmailAttachment, EmailAttachment.ticket_id == Ticket.id)
            .where(EmailAttachment.id == bindparam("attachment_id")),
            {"attachment_id": "`att_…`"},
            noun="attachment",
        )
    ),
]

RAW_MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/inbound/email",
    response_model=InboundResult,
    openapi_extra=RAW_MESSAGE_BODY,
    responses=problem_responses(401, 403, 409, 413, 422),
)
async def receive_email(
    *,
    request: Request,
    recipient: str | None = Query(
        default=None, max_length=320, description="envelope recipient (RCPT TO), for routing"
    ),
    sender: str | None = Query(
        default=None, max_length=320, description="envelope sender (MAIL FROM); empty = bounce"
    ),
    principal: IntegrationOrAdmin,
    _relay: EveryCustomer,  # the sender picks the customer: not a partner's key
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> InboundResult:
    """Take one raw RFC 5322 message from a relay or mail provider: it opens or threads a
    ticket, or is refused with a reply by mail. 200 whatever the outcome; a redelivery
    (same Message-ID) changes nothing."""
    raw = await request.body()
    if not raw.strip():
        raise ValidationFailed("The body must be a raw RFC 5322 message.")
    result = await service.receive(
        session, raw, settings=settings, now=now, recipient=recipient, envelope_sender=sender
    )
    return InboundResult(
        id=result.inbound_id, outcome=result.outcome.value, ticket_id=result.ticket_id,
        ticket_number=result.ticket_number, replied=result.replied, duplicate=result.duplicate,
    )  # fmt: skip


@router.post(
    "/customers/{customer_id}/contacts",
    status_code=201,
    response_model=ContactRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_contact(
    *,
    body: ContactCreate,
    principal: Staff,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ContactRead:
    """Allow another address to write to support for this customer (409 if it belongs to
    a customer already)."""
    contact = await contacts.add_contact(session, customer_id, str(body.email), body.name, now)
    return ContactRead.model_validate(contact)


@router.get(
    "/customers/{customer_id}/contacts",
    response_model=ContactList,
    responses=problem_responses(401, 403, 404),
)
async def list_contacts(
    *,
    principal: Staff,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
) -> ContactList:
    """The extra contact addresses of a customer (its own e-mail is always allowed)."""
    rows = await contacts.list_contacts(session, customer_id)
    return ContactList(data=[ContactRead.model_validate(c) for c in rows])


@router.delete(
    "/customers/{customer_id}/contacts/{contact_id}",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
async def remove_contact(
    *,
    principal: Staff,
    customer_id: CustomerInReach,
    contact_id: ContactInReach,
    session: AsyncSession = Depends(get_session),
) -> Response:
    """Remove a contact address: its mail is refused from now on."""
    await contacts.remove_contact(session, customer_id, contact_id)
    return Response(status_code=204)


@router.get(
    "/tickets/{ticket_id}/attachments",
    response_model=AttachmentList,
    responses=problem_responses(401, 403, 404),
)
async def list_attachments(
    *,
    ticket_id: TicketInReach,
    principal: MailReader,
    session: AsyncSession = Depends(get_session),
) -> AttachmentList:
    """The files that came by mail with the ticket's messages, oldest first."""
    ticket = await desk.load(session, ticket_id, principal)
    rows = await session.execute(
        select(EmailAttachment)
        .where(EmailAttachment.ticket_id == ticket.id)
        .order_by(EmailAttachment.seq)
    )
    return AttachmentList(data=[AttachmentRead.model_validate(a) for a in rows.scalars()])


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        **problem_responses(401, 403, 404),
    },
)
async def download_attachment(
    *,
    attachment_id: AttachmentInReach,
    principal: MailReader,
    session: AsyncSession = Depends(get_session),
) -> Response:
    """Download an attachment (always as a download, never rendered)."""
    attachment = await session.scalar(
        select(EmailAttachment).where(EmailAttachment.id == attachment_id)
    )
    if attachment is None:
        raise NotFound("No such attachment.")
    await desk.load(session, attachment.ticket_id, principal)  # 404 for another customer
    return Response(
        attachment.content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/email/inbound", response_model=Page[InboundRead], responses=problem_responses(401, 403, 422)
)
async def list_inbound(
    *,
    limit: Limit = 50,
    cursor: Cursor = None,
    outcome: Outcome | None = None,
    principal: Staff,
    session: AsyncSession = Depends(get_session),
) -> Page[InboundRead]:
    """Received mail, newest first, with what became of each (filter by `outcome`)."""
    rows = await repository.newest_first(
        session, InboundEmail, limit=limit, cursor=cursor,
        outcome=outcome.value if outcome else None,
    )  # fmt: skip
    return keyset_page(
        rows, limit, key="before", position=lambda r: r.seq, read=InboundRead.model_validate
    )


@router.get(
    "/email/outbox", response_model=Page[OutboxRead], responses=problem_responses(401, 403, 422)
)
async def list_outbox(
    *,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: OutboxStatus | None = None,
    principal: Admin,
    session: AsyncSession = Depends(get_session),
) -> Page[OutboxRead]:
    """Outgoing mail, newest first (filter by `status`: `dead` is what needs a look)."""
    rows = await repository.newest_first(
        session, OutboxEmail, limit=limit, cursor=cursor,
        status=status.value if status else None,
    )  # fmt: skip
    return keyset_page(
        rows, limit, key="before", position=lambda r: r.seq, read=OutboxRead.model_validate
    )
