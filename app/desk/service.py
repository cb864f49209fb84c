"""The desk's rules (policy.md §1): submission and its charge, messages, the status
machine, transfers with consent, merges, out-of-scope and bug refunds.

Locks: every change to an existing ticket locks the ticket row first (`FOR UPDATE`), then
the ledger takes the customer's lock (`credits.service.lock_customer`, the wallet row). A
submission takes the customer's lock before looking for a duplicate. The order is always
ticket(s) in id order, then the customer, so nothing deadlocks; and a charge's refund is
decided under the ticket lock, so it happens at most once whatever races."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.desk import events, subjects
from app.desk import repository as repo
from app.desk.errors import (
    BugAlreadyConfirmed,
    DuplicateTicket,
    InvalidTransition,
    SubjectNotSpecific,
    TicketClosed,
)
from app.desk.events import ticket_read
from app.desk.hooks import MESSAGE_ADDED, MessageAdded
from app.desk.models import (
    ChargeReason,
    Line,
    RefundReason,
    Status,
    Ticket,
    TicketCharge,
    TicketMessage,
)
from app.desk.reads import load, packs_catalogue
from app.desk.schemas import TicketCreate, TicketRead
from app.desk.sla import service as sla
from app.kit.auth import Principal
from app.kit.errors import Forbidden, ValidationFailed
from app.kit.ids import new_id
from app.kit.observability import TICKET_SUBMISSIONS
from app.products import service as products
from app.settings import Settings
from credits import service as ledger
from credits.errors import InsufficientCredits
from credits.models import Wallet

# ---------------------------------------------------------------- validation


def normalise_subject(subject: str) -> str:
    """Case, punctuation, spacing and reply prefixes do not matter: "FW: HELP!!" is "help"."""
    return subjects.normalise(subject)


def _not_specific(subject: str) -> SubjectNotSpecific:
    return SubjectNotSpecific(
        f"The subject {subject!r} does not say what the problem is. Name it in a few "
        "words (the product, what fails, the error), one problem per ticket.",
        field="subject",
    )


def validate_submission(subject: str, body: str, settings: Settings) -> tuple[str, str]:
    """The stripped subject and body, or a typed 422 saying what to fix: a listed or empty
    subject first, then the lengths, then the measure of content (app.desk.subjects)."""
    subject, body = subject.strip(), body.strip()
    verdict = subjects.assess(
        subject, settings.meaningless_subjects,
        min_content_words=settings.subject_min_content_words,
    )  # fmt: skip
    if verdict.reason in ("empty", "listed"):
        raise _not_specific(subject)
    low, high = settings.subject_min_length, settings.subject_max_length
    if not low <= len(subject) <= high:
        raise ValidationFailed(
            f"The subject must be {low}–{high} characters; it has {len(subject)}.",
            field="subject",
        )
    if not verdict.ok:
        raise _not_specific(subject)
    if not body:
        raise ValidationFailed("The body is required: describe the problem.", field="body")
    if len(body) > settings.body_max_length:
        raise ValidationFailed(
            f"The body must be at most {settings.body_max_length} characters; it has {len(body)}.",
            field="body",
        )
    return subject, body


def content_hash(subject: str, body: str) -> str:
    canonical = " ".join(subject.casefold().split()) + "\x00" + " ".join(body.split())
    return hashlib.sha256(canonical.encode()).hexdigest()


# ---------------------------------------------------------------- submission


async def submit_ticket(
    session: AsyncSession,
    data: TicketCreate,
    *,
    customer_id: str,
    author: Principal,
    settings: Settings,
    now: datetime,
) -> Ticket:
    """Creates the ticket and, on the technical line, its charge: both or neither."""
    ticket, _ = await _submit(
        session, data, customer_id=customer_id, author=author, settings=settings, now=now
    )
    return ticket


async def submit_and_read(
    session: AsyncSession,
    data: TicketCreate,
    *,
    customer_id: str,
    author: Principal,
    settings: Settings,
    now: datetime,
) -> TicketRead:
    """`submit_ticket`, answered from the rows it just wrote (what `read` would load)."""
    _, result = await _submit(
        session, data, customer_id=customer_id, author=author, settings=settings, now=now,
        read=True,
    )  # fmt: skip
    assert result is not None
    return result


async def _submit(
    session: AsyncSession,
    data: TicketCreate,
    *,
    customer_id: str,
    author: Principal,
    settings: Settings,
    now: datetime,
    read: bool = False,
) -> tuple[Ticket, TicketRead | None]:
    """The ticket (and with `read`, its representation, built from the rows written)."""
    subject, body = validate_submission(data.subject, data.body, settings)
    customer = await customers.get_customer(session, customer_id)
    if data.line is Line.technical:  # seed 002: refused before the lock and any charge
        await products.check_ticket_version(
            session, data.product, data.version, now=now, days=settings.version_support_days
        )
    digest = content_hash(subject, body)
    ticket = Ticket(
        id=new_id("tkt"), customer_id=customer_id, line=data.line.value,
        status=Status.open.value, severity=data.severity, product=data.product,
        version=data.version.strip() if data.version else None,
        subject=subject, body=body, content_hash=digest, created_by=author.key_id,
        metadata_=data.metadata or None, created_at=now, updated_at=now,
    )  # fmt: skip
    clock = sla.new_clock(ticket, data.category, now)
    # A new ticket's service levels depend only on the line's calendar and targets: read
    # before the customer's lock, so that they do not lengthen its critical section.
    levels = await sla.block(session, ticket, now, new=clock) if read else None
    # Under the customer's lock two identical submissions cannot both pass the duplicate
    # check; the charge below takes the same lock anyway.
    wallet = await ledger.lock_customer(session, customer_id)
    if settings.duplicate_window_minutes > 0:
        since = now - timedelta(minutes=settings.duplicate_window_minutes)
        existing = await repo.find_duplicate(session, customer_id, digest, since)
        if existing is not None:
            raise DuplicateTicket(
                f"The same request was submitted as ticket #{existing.number} "
                f"{settings.duplicate_window_minutes} minutes ago or less; nothing was charged "
                "again. Add to that ticket instead.",
                ticket_id=existing.id,
                number=existing.number,
            )
    ticket.number = await repo.next_number(session)
    session.add(ticket)
    session.add(_message(ticket.id, author, body, internal=False, now=now))
    await sla.start(session, ticket, data.category, now, clock=clock)  # flushes all four rows
    urgent = await sla.default_urgent(session, ticket, now)  # seed 000: the last one
    charge = None
    if data.line is Line.technical:
        try:
            charge = await _charge(
                session, ticket, customer.partner, author=author, settings=settings, now=now,
                wallet=wallet,
            )  # fmt: skip
        except InsufficientCredits as exc:  # the cabinet's form: what versions it may name
            listed = await products.supported_versions(
                session, data.product, now=now, days=settings.version_support_days
            )
            if listed is not None:
                exc.extra["supported_versions"] = listed
            raise
    events.emit_created(session, ticket, charge, now)
    TICKET_SUBMISSIONS.labels(data.line.value).inc()
    if levels is None:
        return ticket, None
    result = ticket_read(ticket, charge)
    levels.urgent = urgent
    result.sla = levels
    return ticket, result


def _message(
    ticket_id: str, author: Principal, body: str, *, internal: bool, now: datetime
) -> TicketMessage:
    return TicketMessage(
        id=new_id("msg"), ticket_id=ticket_id, author_role=author.role.value,
        author_key_id=author.key_id, internal=internal, body=body, created_at=now,
    )  # fmt: skip


# ---------------------------------------------------------------- charges and refunds


async def _charge(
    session: AsyncSession,
    ticket: Ticket,
    partner: bool,
    *,
    author: Principal,
    settings: Settings,
    now: datetime,
    wallet: Wallet | None = None,
) -> TicketCharge:
    """1 credit through the ledger (402 with the pack catalogue when there is none), or a
    0-credit record for a partner. `wallet`: the customer's, if already locked."""
    if partner:
        charge = TicketCharge(
            ticket_id=ticket.id, credits=0, reason=ChargeReason.partner.value, created_at=now
        )
    else:
        try:
            posted = await ledger.charge(
                session, ticket.customer_id, now=now, ticket_id=ticket.id,
                ticket_number=ticket.number, reason="ticket", actor=author.key_id,
                wallet=wallet,
            )  # fmt: skip
        except InsufficientCredits as exc:
            raise InsufficientCredits(
                "A technical-support ticket costs 1 credit and the customer has none. "
                "Buy a pack (see `packs`), or submit to the free customer_relations line "
                "if this is about payment, renewal, activation or access.",
                available=exc.available,
                required=exc.required,
                packs=packs_catalogue(settings),
            ) from exc
        charge = TicketCharge(
            ticket_id=ticket.id,
            credits=-posted.transaction.credits,
            reason=ChargeReason.ticket.value,
            transaction_id=posted.transaction.id,
            created_at=now,
        )
    session.add(charge)
    await session.flush()
    return charge


async def _refund(
    session: AsyncSession,
    ticket: Ticket,
    reason: RefundReason,
    *,
    now: datetime,
    actor: str,
    reference: str | None = None,
) -> bool:
    """Refunds the ticket's current charge unless it already was. The caller holds the
    ticket's lock, so the check and the refund cannot interleave with another refund."""
    charge = await repo.current_charge(session, ticket.id)
    if charge is None or charge.refunded_at is not None:
        return False
    if charge.transaction_id is not None:
        posted = await ledger.refund_charge(
            session, charge.transaction_id, reason=reason.value, now=now,
            reference=reference, actor=actor,
        )  # fmt: skip
        charge.refund_transaction_id = posted.transaction.id
    charge.refund_reason = reason.value
    charge.refund_reference = reference
    charge.refunded_at = now
    await session.flush()
    return True


async def refund(
    session: AsyncSession, ticket: Ticket, reason: RefundReason, *, now: datetime, actor: str
) -> bool:
    """`_refund` with its `ticket.refunded` event, for callers outside the desk (the SLA
    sweep's compensation). The caller holds the ticket's lock."""
    was = await events.before(session, ticket)
    refunded = await _refund(session, ticket, reason, now=now, actor=actor)
    await events.emit_changes(session, ticket, was, now)
    return refunded


# ---------------------------------------------------------------- messages


async def add_message(
    session: AsyncSession,
    ticket_id: str,
    *,
    body: str,
    internal: bool,
    author: Principal,
    settings: Settings,
    now: datetime,
) -> TicketMessage:
    """Messages are free. A customer's answer to a ticket waiting on them puts it back in
    progress (the service-level clock restarts)."""
    if internal and author.is_customer:
        raise Forbidden("Customers cannot write internal notes.")
    ticket = await load(session, ticket_id, author, lock=True)
    was_status = ticket.status
    text = body.strip()
    if not text:
        raise ValidationFailed("The message body is required.", field="body")
    if len(text) > settings.body_max_length:
        raise ValidationFailed(
            f"A message must be at most {settings.body_max_length} characters.", field="body"
        )
    if ticket.status == Status.closed:
        raise TicketClosed(f"Ticket #{ticket.number} is closed; a new problem needs a new ticket.")
    message = _message(ticket.id, author, text, internal=internal, now=now)
    session.add(message)
    if author.is_customer and ticket.status == Status.waiting_on_customer:
        ticket.status = Status.in_progress.value
    ticket.updated_at = now
    await sla.sync(
        session, ticket, now, public_staff_message=not internal and not author.is_customer
    )
    await session.flush()
    events.emit_message(session, ticket, message, now)
    if ticket.status != was_status:
        await events.emit_status(session, ticket, was_status, now)
    # other channels (the e-mail outbox) subscribe here, so the desk does not import them
    await MESSAGE_ADDED.publish(session, MessageAdded(ticket, message, author, settings, now))
    return message


# ---------------------------------------------------------------- status machine

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.open: frozenset(
        {Status.in_progress, Status.waiting_on_customer, Status.resolved, Status.closed}
    ),
    Status.in_progress: frozenset(
        {Status.open, Status.waiting_on_customer, Status.resolved, Status.closed}
    ),
    Status.waiting_on_customer: frozenset(
        {Status.open, Status.in_progress, Status.resolved, Status.closed}
    ),
    Status.resolved: frozenset({Status.open, Status.closed}),  # open = reopen, in the window
    Status.awaiting_approval: frozenset({Status.closed}),  # accept/decline are separate
    Status.closed: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Refused:
    detail: str


def check_transition(
    ticket: Ticket, target: Status, *, customer: bool, settings: Settings, now: datetime
) -> Refused | None:
    current = Status(ticket.status)
    if customer and target not in (Status.open, Status.closed):
        raise Forbidden("A customer may only reopen a resolved ticket or close a ticket.")
    if current is Status.closed:
        return Refused(f"Ticket #{ticket.number} is closed; a new problem needs a new ticket.")
    if target not in TRANSITIONS[current]:
        return Refused(f"A ticket cannot go from {current.value} to {target.value}.")
    if current is Status.resolved and target is Status.open:
        window = timedelta(days=settings.reopen_window_days)
        if ticket.resolved_at is None or now > ticket.resolved_at + window:
            return Refused(
                f"Ticket #{ticket.number} was resolved more than "
                f"{settings.reopen_window_days} days ago and cannot be reopened; "
                "submit a new ticket."
            )
    return None


async def change_status(
    session: AsyncSession,
    ticket_id: str,
    target: Status,
    *,
    principal: Principal,
    settings: Settings,
    now: datetime,
) -> Ticket:
    ticket = await load(session, ticket_id, principal, lock=True)
    was = await events.before(session, ticket)
    refused = check_transition(
        ticket, target, customer=principal.is_customer, settings=settings, now=now
    )
    if refused is not None:
        raise InvalidTransition(refused.detail, status_from=ticket.status, status_to=target.value)
    _set_status(ticket, target, now)
    await sla.sync(session, ticket, now)
    await events.emit_changes(session, ticket, was, now)
    return ticket


def _set_status(ticket: Ticket, target: Status, now: datetime) -> None:
    ticket.status = target.value
    ticket.updated_at = now
    if target is Status.resolved:
        ticket.resolved_at = now
    elif target is Status.open:
        ticket.resolved_at = None
    if target is Status.closed:
        ticket.closed_at = now


# ---------------------------------------------------------------- transfers


def _refuse_closed(ticket: Ticket) -> None:
    if ticket.status == Status.closed:
        raise InvalidTransition(f"Ticket #{ticket.number} is closed.")


async def transfer(
    session: AsyncSession,
    ticket_id: str,
    to_line: Line,
    *,
    principal: Principal,
    settings: Settings,
    now: datetime,
) -> Ticket:
    """To technical: waits for the customer's consent, or charges at once (partners,
    auto-accepting customers; 402 when there is no credit). Back to customer relations:
    the charge is refunded (`misrouted`)."""
    ticket = await load(session, ticket_id, principal, lock=True)
    was = await events.before(session, ticket)
    _refuse_closed(ticket)
    if to_line is Line.technical:
        await _transfer_to_technical(session, ticket, principal, settings, now)
    elif ticket.status == Status.awaiting_approval:  # the pending transfer is called off
        _set_status(ticket, Status.open, now)
    elif ticket.line == Line.customer_relations:
        raise InvalidTransition(f"Ticket #{ticket.number} is already on customer_relations.")
    else:
        await _refund(session, ticket, RefundReason.misrouted, now=now, actor=principal.key_id)
        ticket.line = Line.customer_relations.value
        ticket.updated_at = now
    await sla.sync(session, ticket, now)
    await events.emit_changes(session, ticket, was, now)
    return ticket


async def _transfer_to_technical(
    session: AsyncSession, ticket: Ticket, principal: Principal, settings: Settings, now: datetime
) -> None:
    if ticket.line == Line.technical:
        raise InvalidTransition(f"Ticket #{ticket.number} is already on technical.")
    if ticket.status == Status.awaiting_approval:
        raise InvalidTransition(f"Ticket #{ticket.number} already awaits the customer's consent.")
    await products.check_ticket_version(
        session, ticket.product, ticket.version, now=now, days=settings.version_support_days
    )
    customer = await customers.get_customer(session, ticket.customer_id)
    if customer.partner or customer.auto_accept_transfers:
        await _charge(
            session, ticket, customer.partner, author=principal, settings=settings, now=now
        )
        ticket.line = Line.technical.value
        _set_status(ticket, Status.open, now)
    else:
        _set_status(ticket, Status.awaiting_approval, now)


async def answer_transfer(
    session: AsyncSession,
    ticket_id: str,
    *,
    accept: bool,
    principal: Principal,
    settings: Settings,
    now: datetime,
) -> Ticket:
    """The customer's consent: accept charges 1 credit (402 and nothing changes when there
    is none) and moves the ticket to technical; decline keeps it on the free line."""
    ticket = await load(session, ticket_id, principal, lock=True)
    was = await events.before(session, ticket)
    if ticket.status != Status.awaiting_approval:
        raise InvalidTransition(f"Ticket #{ticket.number} has no transfer awaiting consent.")
    if accept:
        await products.check_ticket_version(
            session, ticket.product, ticket.version, now=now, days=settings.version_support_days
        )
        customer = await customers.get_customer(session, ticket.customer_id)
        await _charge(
            session, ticket, customer.partner, author=principal, settings=settings, now=now
        )
        ticket.line = Line.technical.value
    _set_status(ticket, Status.open, now)
    await sla.sync(session, ticket, now)
    await events.emit_changes(session, ticket, was, now)
    return ticket


# ---------------------------------------------------------------- merge, scope, bugs


async def merge(
    session: AsyncSession, ticket_id: str, into_id: str, *, principal: Principal, now: datetime
) -> Ticket:
    """Closes a duplicate into another ticket of the same customer: its messages move
    there and its charge is refunded (`merged`)."""
    if ticket_id == into_id:
        raise InvalidTransition("A ticket cannot be merged into itself.")
    locked: dict[str, Ticket] = {}
    for tid in sorted((ticket_id, into_id)):  # id order: two merges cannot deadlock
        locked[tid] = await load(session, tid, principal, lock=True)
    ticket, into = locked[ticket_id], locked[into_id]
    was = await events.before(session, ticket)
    if ticket.customer_id != into.customer_id:
        raise InvalidTransition("Only tickets of the same customer can be merged.")
    _refuse_closed(ticket)
    if into.status == Status.closed:
        raise InvalidTransition(f"Ticket #{into.number} is closed; merge into an open ticket.")
    await _refund(
        session, ticket, RefundReason.merged, now=now, actor=principal.key_id, reference=into.id
    )
    await repo.move_messages(session, ticket.id, into.id)
    ticket.merged_into = into.id
    _set_status(ticket, Status.closed, now)
    into.updated_at = now
    await sla.sync(session, ticket, now)
    await events.emit_changes(session, ticket, was, now)
    return ticket


async def mark_out_of_scope(
    session: AsyncSession, ticket_id: str, reason: str, *, principal: Principal, now: datetime
) -> Ticket:
    """Not a technical-support matter: refunded (`out_of_scope`), back to the free line."""
    ticket = await load(session, ticket_id, principal, lock=True)
    was = await events.before(session, ticket)
    _refuse_closed(ticket)
    if ticket.line != Line.technical:
        raise InvalidTransition(f"Ticket #{ticket.number} is not on the technical line.")
    await _refund(
        session, ticket, RefundReason.out_of_scope, now=now, actor=principal.key_id,
        reference=reason[:255],
    )  # fmt: skip
    ticket.line = Line.customer_relations.value
    ticket.updated_at = now
    session.add(_message(ticket.id, principal, f"Out of scope: {reason}", internal=True, now=now))
    await events.emit_changes(session, ticket, was, now)
    return ticket


async def confirm_bug(
    session: AsyncSession,
    ticket_id: str,
    bug_reference: str,
    *,
    principal: Principal,
    now: datetime,
) -> Ticket:
    """A product bug: the ticket's charge is refunded (`product_bug`), once, however many
    confirmations arrive; the first reference is kept on the ticket. The same reference
    again changes nothing; another one is refused (409 `bug_already_confirmed`)."""
    ticket = await load(session, ticket_id, principal, lock=True)
    if ticket.bug_reference == bug_reference:
        return ticket
    if ticket.bug_reference is not None:
        raise BugAlreadyConfirmed(
            f"Ticket #{ticket.number} is already confirmed as bug {ticket.bug_reference}; "
            "the first reference stays.",
            bug_reference=ticket.bug_reference,
        )
    was = await events.before(session, ticket)
    await _refund(
        session, ticket, RefundReason.product_bug, now=now, actor=principal.key_id,
        reference=bug_reference,
    )  # fmt: skip
    ticket.bug_reference = bug_reference
    ticket.updated_at = now
    await events.emit_changes(session, ticket, was, now)
    return ticket
