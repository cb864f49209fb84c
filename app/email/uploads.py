"""Attachments over HTTP (seed 002 asks for "dumps, logs & other supporting information"):
multipart uploads on a ticket or on one of its messages, under the limits mail has
(`CREDITDESK_EMAIL_MAX_ATTACHMENTS` files per message, `CREDITDESK_EMAIL_MAX_ATTACHMENT_BYTES`
each; like mail, any type, always served as a download, never rendered). They are stored
as mail attachments are (`email_attachments`), so `GET /v1/tickets/{id}/attachments` lists
them and `GET /v1/attachments/{id}` downloads them, as today.

A request is also bounded by `CREDITDESK_MAX_BODY_BYTES` (413 before the app reads it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk import service as desk
from app.desk.access import MessageInReach, TicketInReach
from app.desk.errors import TicketClosed
from app.desk.models import Status, Ticket, TicketMessage
from app.email.models import EmailAttachment
from app.email.schemas import AttachmentList, AttachmentRead
from app.kit.auth import STAFF, Principal, Role, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import AppError, NotFound, ValidationFailed, problem_responses
from app.kit.ids import new_id
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["attachments"])
UPLOADERS = (Role.customer, *STAFF)
Uploader = Annotated[Principal, Depends(require_roles(*UPLOADERS))]
Files = File(description="one or more files (`multipart/form-data`, field `files`)")


def clean_filename(name: str) -> str:
    """The last path segment, printable characters only, at most 255 (as for mail)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "attachment"
    return name[:255]


class AttachmentTooLarge(AppError):
    status, code = 413, "attachment_too_large"


class TooManyAttachments(ValidationFailed):
    code = "too_many_attachments"


async def _store(
    session: AsyncSession,
    ticket: Ticket,
    message: TicketMessage,
    files: list[UploadFile],
    settings: Settings,
    now: datetime,
) -> AttachmentList:
    if ticket.status == Status.closed:
        raise TicketClosed(f"Ticket #{ticket.number} is closed; it takes no more files.")
    limit, largest = settings.email_max_attachments, settings.email_max_attachment_bytes
    stmt = select(func.count()).where(EmailAttachment.message_id == message.id)
    present = int((await session.execute(stmt)).scalar_one())
    if not files:
        raise ValidationFailed("Send at least one file in the `files` field.", field="files")
    if present + len(files) > limit:
        raise TooManyAttachments(
            f"A message holds at most {limit} attachments (as a mail does); it has {present} "
            f"and {len(files)} more were sent.",
            field="files", limit=limit, present=present,
        )  # fmt: skip
    rows = []
    for upload in files:
        data = await upload.read(largest + 1)
        name = clean_filename(upload.filename or "attachment")
        if len(data) > largest:
            raise AttachmentTooLarge(
                f"{name} is larger than {largest} bytes, the most an attachment may be (as "
                "by mail). Compress it or split it.",
                field="files", limit=largest, filename=name,
            )  # fmt: skip
        rows.append(
            EmailAttachment(
                id=new_id("att"),
                ticket_id=ticket.id,
                message_id=message.id,
                filename=name,
                content_type=(upload.content_type or "application/octet-stream")[:255],
                size=len(data),
                content=data,
                created_at=now,
            )
        )
    session.add_all(rows)
    ticket.updated_at = now
    await session.flush()
    return AttachmentList(data=[AttachmentRead.model_validate(a) for a in rows])


@router.post(
    "/tickets/{ticket_id}/attachments",
    status_code=201,
    response_model=AttachmentList,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
async def upload_to_ticket(
    principal: Uploader,
    ticket_id: TicketInReach,
    files: list[UploadFile] = Files,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> AttachmentList:
    """Attach files to a ticket (to its opening message). A customer: its own tickets."""
    ticket = await desk.load(session, ticket_id, principal, lock=True)
    stmt = (
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket.id, TicketMessage.internal.is_(False))
        .order_by(TicketMessage.seq)
        .limit(1)
    )
    first = (await session.execute(stmt)).scalars().first()
    if first is None:
        raise NotFound("The ticket has no message to attach to.")
    return await _store(session, ticket, first, files, settings, now)


@router.post(
    "/tickets/{ticket_id}/messages/{message_id}/attachments",
    status_code=201,
    response_model=AttachmentList,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
)
async def upload_to_message(
    principal: Uploader,
    ticket_id: TicketInReach,
    message_id: MessageInReach,
    files: list[UploadFile] = Files,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> AttachmentList:
    """Attach files to one message of a ticket. A customer: only to its own messages on
    its own tickets (an internal note does not exist for it)."""
    ticket = await desk.load(session, ticket_id, principal, lock=True)
    message = (
        await session.execute(
            select(TicketMessage).where(
                TicketMessage.id == message_id, TicketMessage.ticket_id == ticket.id
            )
        )
    ).scalar_one_or_none()
    if message is None or (principal.is_customer and message.internal):
        raise NotFound("No such message on this ticket.")
    if principal.is_customer and message.author_role != Role.customer.value:
        raise NotFound("No such message of yours on this ticket.")
    return await _store(session, ticket, message, files, settings, now)
