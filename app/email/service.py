"""Mail intake, one code path for the SMTP listener and `POST /v1/inbound/email`.

A mail is routed by its receiving address to a line, its sender must be a known contact
of a customer, and then it either threads into that customer's ticket (`[#NUMBER]` in the
subject, or In-Reply-To/References naming a mail of the ticket; never charged) or opens a
ticket through the desk's own `submit_ticket`, so mail is validated, deduplicated and
charged exactly like the API. Every refusal is answered by mail, through the outbox, in
the same transaction. Automated mail (RFC 3834: auto-replies, out-of-office, bulk,
bounces) is recorded as `ignored_automated`: never answered, never a ticket. The receipt
of a new ticket is always sent (seed 004: it is the customer's proof); the per-sender
limit holds back only refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.customers.models import Customer
from app.desk import service as desk
from app.desk.errors import DuplicateTicket, SubjectNotSpecific, TicketClosed
from app.desk.hooks import MessageAdded
from app.desk.models import Line, Ticket, TicketMessage
from app.desk.schemas import TicketCreate
from app.email import replies
from app.email.contacts import resolve_sender
from app.email.models import EmailAttachment, InboundEmail, OutboxEmail, OutboxKind, Outcome
from app.email.outbox import enqueue, may_reply
from app.email.parsing import MailLimits, ParsedMail, normalise_address, parse_off_loop
from app.kit.auth import Principal, Role
from app.kit.errors import NotFound, ValidationFailed
from app.kit.i18n import DEFAULT_LOCALE, negotiate
from app.kit.ids import new_id
from app.settings import Settings
from credits.errors import InsufficientCredits

MAX_MERGE_HOPS = 10


@dataclass(frozen=True, slots=True)
class IntakeResult:
    inbound_id: str
    outcome: Outcome
    ticket_id: str | None
    ticket_number: int | None
    replied: bool
    duplicate: bool = False


def route(mail: ParsedMail, recipient: str | None, settings: Settings) -> tuple[str, Line]:
    """The receiving address and its line: the envelope recipient when known, else the
    first header recipient that is routed, else the default line."""
    routes = {k.lower(): Line(v) for k, v in settings.email_routes.items()}
    candidates = [normalise_address(recipient)] if recipient else mail.recipients
    for address in candidates:
        if address in routes:
            return address, routes[address]
    first = candidates[0] if candidates else settings.email_from_address.lower()
    return first, Line(settings.email_default_line)


def mail_limits(settings: Settings) -> MailLimits:
    return MailLimits(
        max_bytes=settings.email_max_message_bytes,
        max_headers=settings.email_max_headers,
        max_header_bytes=settings.email_max_header_bytes,
        max_encoded_words=settings.email_max_encoded_words,
        max_mime_depth=settings.email_max_mime_depth,
        max_mime_parts=settings.email_max_mime_parts,
    )


async def receive(
    session: AsyncSession,
    raw: bytes,
    *,
    settings: Settings,
    now: datetime,
    recipient: str | None = None,
    envelope_sender: str | None = None,
) -> IntakeResult:
    """Takes one raw RFC 5322 message. A redelivery of a mail already taken (same
    Message-ID) changes nothing and reports the first outcome."""
    mail = await parse_off_loop(
        raw, envelope_sender=envelope_sender, limits=mail_limits(settings),
        concurrency=settings.email_parse_concurrency,
    )  # fmt: skip
    seen = await session.scalar(
        select(InboundEmail).where(InboundEmail.dedupe_key == mail.dedupe_key)
    )
    if seen is not None:
        number = await _number(session, seen.ticket_id)
        return IntakeResult(
            seen.id, Outcome(seen.outcome), seen.ticket_id, number, False, duplicate=True
        )
    address, line = route(mail, recipient, settings)
    record = InboundEmail(
        id=new_id("eml"), dedupe_key=mail.dedupe_key, message_id=mail.message_id,
        sender=mail.sender[:320], recipient=address[:320], subject=mail.subject,
        size=mail.size, outcome=Outcome.refused_invalid.value, received_at=now,
    )  # fmt: skip
    session.add(record)
    await session.flush()  # claims the dedupe key: a concurrent redelivery fails here
    intake = _Intake(session, mail, record, settings, now)
    outcome, ticket = await intake.handle(line)
    record.outcome = outcome.value
    if ticket is not None:
        record.ticket_id = ticket.id
        record.customer_id = ticket.customer_id
    await session.flush()
    return IntakeResult(
        record.id, outcome, ticket.id if ticket else None, ticket.number if ticket else None,
        intake.replied,
    )  # fmt: skip


async def _locale(session: AsyncSession, customer_id: str | None, mail: ParsedMail) -> str:
    """The language to answer in: the customer's; for an unknown sender, the one its mail
    names in `Content-Language` if this service speaks it, else English."""
    if customer_id is not None:
        locale = await session.scalar(select(Customer.locale).where(Customer.id == customer_id))
        if locale:
            return str(locale)
    return negotiate(mail.language)


async def _number(session: AsyncSession, ticket_id: str | None) -> int | None:
    if ticket_id is None:
        return None
    return await session.scalar(select(Ticket.number).where(Ticket.id == ticket_id))


class _Intake:
    def __init__(
        self,
        session: AsyncSession,
        mail: ParsedMail,
        record: InboundEmail,
        settings: Settings,
        now: datetime,
    ) -> None:
        self.session, self.mail, self.record = session, mail, record
        self.settings, self.now = settings, now
        self.replied = False
        self.locale = DEFAULT_LOCALE  # what the answers are written in (handle sets it)

    async def handle(self, line: Line) -> tuple[Outcome, Ticket | None]:
        mail, settings = self.mail, self.settings
        if mail.automated:
            return Outcome.ignored_automated, None
        customer_id = await resolve_sender(self.session, mail.sender)
        self.locale = await _locale(self.session, customer_id, mail)
        why = replies.over_limit_reason(mail, settings, self.locale)
        if why is not None:
            return await self.refuse(
                Outcome.refused_too_large, replies.too_large(mail, why, settings, self.locale)
            )
        if customer_id is None:
            return await self.refuse(
                Outcome.refused_unknown_sender, replies.unknown_sender(mail, self.locale)
            )
        self.record.customer_id = customer_id
        author = Principal(key_id=f"email:{customer_id}"[:40], role=Role.customer,
                           customer_id=customer_id)  # fmt: skip
        referenced = await self._referenced_ticket()
        if referenced is not None or mail.ticket_number is not None:
            return await self._thread(referenced, author)
        return await self._open(line, author, customer_id, settings)

    async def _referenced_ticket(self) -> Ticket | None:
        """The ticket named by `[#NUMBER]`, else the one a referenced mail belongs to."""
        if self.mail.ticket_number is not None:
            return await self.session.scalar(
                select(Ticket).where(Ticket.number == self.mail.ticket_number)
            )
        refs = self.mail.references[-50:]
        if not refs:
            return None
        ticket_id = await self.session.scalar(
            select(OutboxEmail.ticket_id).where(
                OutboxEmail.message_id.in_(refs), OutboxEmail.ticket_id.is_not(None)
            )
        ) or await self.session.scalar(
            select(InboundEmail.ticket_id).where(
                InboundEmail.message_id.in_(refs), InboundEmail.ticket_id.is_not(None)
            )
        )
        return await self.session.get(Ticket, ticket_id) if ticket_id else None

    async def _thread(
        self, ticket: Ticket | None, author: Principal
    ) -> tuple[Outcome, Ticket | None]:
        for _ in range(MAX_MERGE_HOPS):  # a merged ticket's mail goes where it was merged
            if ticket is None or ticket.merged_into is None:
                break
            ticket = await self.session.get(Ticket, ticket.merged_into)
        if ticket is None or ticket.customer_id != author.customer_id:
            return await self.refuse(
                Outcome.refused_not_your_ticket, replies.not_your_ticket(self.mail, self.locale)
            )
        body = self.mail.body or replies.attachments_only(self.mail)
        try:
            async with self.session.begin_nested():
                message = await desk.add_message(
                    self.session, ticket.id, body=body, internal=False, author=author,
                    settings=self.settings, now=self.now,
                )  # fmt: skip
        except TicketClosed:
            return await self.refuse(
                Outcome.refused_ticket_closed,
                replies.ticket_closed(self.mail, ticket, self.locale),
            )
        except NotFound:
            return await self.refuse(
                Outcome.refused_not_your_ticket, replies.not_your_ticket(self.mail, self.locale)
            )
        except ValidationFailed as exc:
            return await self.refuse(
                Outcome.refused_invalid,
                replies.invalid(self.mail, exc, self.settings, self.locale),
            )
        await self._store_attachments(ticket, message)
        return Outcome.threaded, ticket

    async def _open(
        self, line: Line, author: Principal, customer_id: str, settings: Settings
    ) -> tuple[Outcome, Ticket | None]:
        mail, locale = self.mail, self.locale
        data = TicketCreate.model_construct(
            customer_id=customer_id, line=line, subject=mail.topic,
            body=mail.body or replies.attachments_only(mail), product=None, severity=3,
        )  # fmt: skip
        try:
            async with self.session.begin_nested():
                ticket = await desk.submit_ticket(
                    self.session, data, customer_id=customer_id, author=author,
                    settings=settings, now=self.now,
                )  # fmt: skip
        except SubjectNotSpecific:
            return await self.refuse(
                Outcome.refused_subject, replies.bad_subject(mail, settings, locale)
            )
        except InsufficientCredits:
            return await self.refuse(
                Outcome.refused_no_credit, replies.no_credit(mail, settings, locale)
            )
        except DuplicateTicket as exc:
            return await self.refuse(
                Outcome.refused_duplicate, replies.duplicate(mail, exc.number, locale)
            )
        except ValidationFailed as exc:
            if exc.field == "subject":  # its length: the subject refusal names the limits
                return await self.refuse(
                    Outcome.refused_subject, replies.bad_subject(mail, settings, locale)
                )
            return await self.refuse(
                Outcome.refused_invalid, replies.invalid(mail, exc, settings, locale)
            )
        first = await self.session.scalar(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.seq)
            .limit(1)
        )
        assert first is not None
        await self._store_attachments(ticket, first)
        await self.reply(
            OutboxKind.auto_reply, replies.auto_reply_subject(ticket),
            replies.auto_reply(mail, ticket, settings, locale), ticket_id=ticket.id,
        )  # fmt: skip
        return Outcome.created, ticket

    async def _store_attachments(self, ticket: Ticket, message: TicketMessage) -> None:
        self.record.ticket_message_id = message.id
        for attachment in self.mail.attachments:
            self.session.add(
                EmailAttachment(
                    id=new_id("att"),
                    ticket_id=ticket.id,
                    message_id=message.id,
                    filename=attachment.filename,
                    content_type=attachment.content_type[:255],
                    size=len(attachment.data),
                    content=attachment.data,
                    created_at=self.now,
                )
            )
        await self.session.flush()

    async def refuse(self, outcome: Outcome, body: str) -> tuple[Outcome, Ticket | None]:
        await self.reply(OutboxKind.refusal, replies.refusal_subject(self.mail, self.locale), body)
        return outcome, None

    async def reply(
        self, kind: OutboxKind, subject: str, body: str, *, ticket_id: str | None = None
    ) -> None:
        """Answers the sender, unless the mail is automated or (for anything but the
        receipt of a new ticket) asks for no automatic answers or the sender has had its
        share of them for now: a loop is made of refusals, a receipt costs a credit."""
        mail = self.mail
        if mail.automated or not mail.sender:
            return
        if mail.sender == self.settings.email_from_address.lower():
            return
        if kind != OutboxKind.auto_reply and (
            mail.no_auto_answers
            or not await may_reply(self.session, mail.sender, self.settings, self.now)
        ):
            return
        await enqueue(
            self.session, kind=kind, recipient=mail.sender, subject=subject, body=body,
            locale=self.locale, settings=self.settings, now=self.now, ticket_id=ticket_id,
            in_reply_to=mail.message_id,
        )  # fmt: skip
        self.replied = True


# ---------------------------------------------------------------- staff replies by mail


async def mail_staff_reply(session: AsyncSession, added: MessageAdded) -> None:
    """Subscribed to the desk's `MESSAGE_ADDED` (app/email/feature.py): a staff member's
    public reply is mailed to the customer, `[#NUMBER]` in the subject, through the outbox
    (same transaction as the message)."""
    ticket, message, settings, now = added.ticket, added.message, added.settings, added.now
    author = added.author
    if message.internal or author.is_customer or not settings.email_notify_staff_replies:
        return
    last = (
        await session.execute(
            select(InboundEmail.sender, InboundEmail.message_id)
            .where(InboundEmail.ticket_id == ticket.id)
            .order_by(InboundEmail.seq.desc())
            .limit(1)
        )
    ).first()
    customer = await customers.get_customer(session, ticket.customer_id)
    if last is not None:
        recipient, in_reply_to = last.sender, last.message_id
    else:
        recipient, in_reply_to = customer.email, None
    await enqueue(
        session, kind=OutboxKind.staff_reply, recipient=recipient.lower(),
        subject=replies.staff_reply_subject(ticket),
        body=replies.staff_reply(message, customer.locale), locale=customer.locale,
        settings=settings, now=now, ticket_id=ticket.id, in_reply_to=in_reply_to,
    )  # fmt: skip
