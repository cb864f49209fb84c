"""Customer mail notices, each sent once per fact and each also a `notice.*` event.

Two periodic jobs (app.notices.feature) find the facts, after they are committed:
- the ticket events the desk writes in the change's own transaction (`ticket.transfer_requested`,
  `ticket.refunded`, `ticket.status_changed` to `resolved`), from the last
  `CREDITDESK_NOTICES_LOOKBACK_HOURS` hours, that have no notice yet;
- the credit lots that expire within a warning window (`CREDITDESK_NOTICES_EXPIRY_WARNING_DAYS`,
  default 14 and 1 days) and have not been warned for that window.

Each notice is one transaction: the `notices` row (its unique `key` names the fact: the ticket
event's id, or the lot and the window), the mail in the e-mail outbox (sent after commit,
with retries: app.email.outbox) and the event. The row is inserted first with `ON CONFLICT
DO NOTHING`: a second worker, a retried round or a re-run finds the key taken and writes
nothing, so a fact is never mailed twice; a round that fails leaves nothing, and the next
round tries again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.desk.models import Ticket
from app.email import outbox
from app.email.models import OutboxKind
from app.kit.db import Database
from app.kit.events import Event, EventType, record_event
from app.kit.ids import new_id
from app.kit.pagination import Page, cursor_int, keyset_page
from app.notices import texts
from app.notices.models import Notice, NoticeKind
from app.notices.schemas import NoticeRead
from app.settings import Settings
from credits.models import JournalTransaction, Lot, Wallet

logger = logging.getLogger("creditdesk.notices")

TICKET_EVENTS: dict[str, NoticeKind] = {
    EventType.ticket_transfer_requested.value: NoticeKind.transfer_consent,
    EventType.ticket_refunded.value: NoticeKind.ticket_refunded,
    EventType.ticket_status_changed.value: NoticeKind.ticket_resolved,
}


def cabinet_page(settings: Settings, ticket_id: str | None = None) -> str | None:
    """The cabinet's page for a ticket (or its start page); None without
    CREDITDESK_CABINET_URL (a job has no request to take the server's address from)."""
    if not settings.cabinet_url:
        return None
    base = settings.cabinet_url.rstrip("/")
    return f"{base}/#/tickets/{ticket_id}" if ticket_id else f"{base}/#/"


def event_key(kind: NoticeKind, event_id: str) -> str:
    return f"{kind.value}:{event_id}"


def expiry_key(lot_id: str, days: int) -> str:
    return f"{NoticeKind.credits_expiring.value}:{lot_id}:{days}d"


@dataclass(frozen=True, slots=True)
class Recipient:
    id: str
    name: str
    email: str
    locale: str


async def _recipient(session: AsyncSession, customer_id: str | None) -> Recipient | None:
    if customer_id is None:
        return None
    row = (
        await session.execute(
            select(Customer.id, Customer.name, Customer.email, Customer.locale).where(
                Customer.id == customer_id
            )
        )
    ).one_or_none()
    return Recipient(*row) if row is not None else None


async def send(
    session: AsyncSession,
    *,
    key: str,
    kind: NoticeKind,
    to: Recipient,
    mail: texts.Mail,
    link: str | None,
    settings: Settings,
    now: datetime,
    ticket_id: str | None = None,
    lot_id: str | None = None,
    **fields: Any,
) -> bool:
    """The notice of one fact, once: False (and nothing written) when `key` was taken."""
    notice_id = new_id("ntc")
    taken = await session.scalar(
        insert(Notice)
        .values(
            id=notice_id,
            key=key,
            kind=kind.value,
            customer_id=to.id,
            ticket_id=ticket_id,
            lot_id=lot_id,
            locale=to.locale,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Notice.key])
        .returning(Notice.id)
    )
    if taken is None:
        return False
    queued = await outbox.enqueue(
        session, kind=OutboxKind.notice, recipient=to.email, subject=mail.subject,
        body=mail.body, settings=settings, now=now, ticket_id=ticket_id,
    )  # fmt: skip
    read = NoticeRead(
        id=notice_id, kind=kind, customer_id=to.id, locale=to.locale, subject=mail.subject,
        link=link, ticket_id=ticket_id, lot_id=lot_id, created_at=now, **fields,
    )  # fmt: skip
    event = record_event(session, kind.event_type, customer_id=to.id, obj=read, now=now)
    await session.execute(
        update(Notice)
        .where(Notice.id == notice_id)
        .values(outbox_id=queued.id, event_id=event.id, data=read.model_dump(mode="json"))
    )
    return True


async def list_notices(
    session: AsyncSession, customer_id: str, *, limit: int, cursor: str | None
) -> Page[NoticeRead]:
    """The notices sent to a customer, newest first."""
    stmt = (
        select(Notice)
        .where(Notice.customer_id == customer_id, Notice.data.is_not(None))
        .order_by(Notice.seq.desc())
        .limit(limit + 1)
    )
    before = cursor_int(cursor, "before")
    if before is not None:
        stmt = stmt.where(Notice.seq < before)
    rows = list((await session.execute(stmt)).scalars())
    return keyset_page(
        rows, limit, key="before", position=lambda n: n.seq,
        read=lambda n: NoticeRead.model_validate(n.data),
    )  # fmt: skip


# ---------------------------------------------------------------- ticket events


def _pending_ticket_events(settings: Settings, now: datetime):  # type: ignore[no-untyped-def]
    """The ticket events of the lookback window that call for a notice and have none."""
    kind = case(*((Event.type == type_, literal(k.value)) for type_, k in TICKET_EVENTS.items()))
    status = Event.data[("object", "status")].as_string()
    credits = Event.data[("object", "charge", "credits")].as_string()
    return (
        select(Event)
        .where(
            Event.created_at >= now - timedelta(hours=settings.notices.lookback_hours),
            or_(
                Event.type == EventType.ticket_transfer_requested.value,
                (Event.type == EventType.ticket_refunded.value) & (credits != "0"),
                (Event.type == EventType.ticket_status_changed.value) & (status == "resolved"),
            ),
            ~exists().where(Notice.key == kind.concat(":").concat(Event.id)),
        )
        .order_by(Event.seq)
        .limit(settings.notices.batch)
    )


async def _refund_entry(
    session: AsyncSession, ticket_id: str, at: datetime
) -> JournalTransaction | None:
    """The ledger's refund the event tells of (its reference, the balance after it): the
    ticket's latest refund posted by then (the change posts it and writes the event with
    the same `now`; a ticket refunded again later has a later one)."""
    stmt = (
        select(JournalTransaction)
        .where(
            JournalTransaction.ticket_id == ticket_id,
            JournalTransaction.kind == "refund",
            JournalTransaction.posted_at <= at,
        )
        .order_by(JournalTransaction.seq.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def _notice_of(
    session: AsyncSession, event: Event, settings: Settings, now: datetime
) -> bool:
    kind = TICKET_EVENTS[event.type]
    to = await _recipient(session, event.customer_id)
    if to is None:
        return False
    ticket: dict[str, Any] = event.data["object"]
    ticket_id, number, subject = str(ticket["id"]), int(ticket["number"]), str(ticket["subject"])
    w = texts.Writer(to.locale)
    link = cabinet_page(settings, ticket_id)
    fields: dict[str, Any] = {"ticket_number": number, "ticket_subject": subject}
    if kind is NoticeKind.transfer_consent:
        mail = texts.transfer_consent(w, name=to.name, number=number, subject=subject, link=link)
    elif kind is NoticeKind.ticket_resolved:
        mail = texts.ticket_resolved(
            w, name=to.name, number=number, subject=subject,
            reopen_days=settings.reopen_window_days, link=link,
        )  # fmt: skip
    else:
        charge: dict[str, Any] = ticket.get("charge") or {}
        reason = charge.get("refund_reason")
        credits = int(charge.get("credits") or 0)
        entry = await _refund_entry(session, ticket_id, event.created_at)
        reference = ticket.get("bug_reference") if reason == "product_bug" else None
        reference = (entry.reference if entry is not None else None) or reference
        merged_into = None
        if ticket.get("merged_into"):
            merged_into = await session.scalar(
                select(Ticket.number).where(Ticket.id == ticket["merged_into"])
            )
        if entry is not None and entry.balance_after is not None:
            available = entry.balance_after
        else:
            available = int(
                await session.scalar(select(Wallet.available).where(Wallet.customer_id == to.id))
                or 0
            )
        mail = texts.ticket_refunded(
            w, name=to.name, number=number, subject=subject, credits=credits,
            reason=texts.refund_reason(w, reason, reference=reference, merged_into=merged_into),
            available=available, link=link,
        )  # fmt: skip
        fields |= {
            "refund_reason": reason, "credits": credits, "available": available,
            "bug_reference": reference if reason == "product_bug" else None,
        }  # fmt: skip
    return await send(
        session, key=event_key(kind, event.id), kind=kind, to=to, mail=mail, link=link,
        settings=settings, now=now, ticket_id=ticket_id, source_event_id=event.id, **fields,
    )  # fmt: skip


async def notice_ticket_events(db: Database, settings: Settings, now: datetime) -> int:
    """One round: a notice for each ticket event that calls for one and has none yet, each
    in its own transaction. Returns how many were written."""
    async with db.unit_of_work() as session:
        pending = [
            e.id for e in (await session.execute(_pending_ticket_events(settings, now))).scalars()
        ]
    written = 0
    for event_id in pending:
        try:
            async with db.unit_of_work() as session:
                event = await session.scalar(select(Event).where(Event.id == event_id))
                if event is not None:
                    written += await _notice_of(session, event, settings, now)
        except Exception:  # one event that cannot be told must not hold up the others
            logger.exception("notice of event %s failed; tried again next round", event_id)
    return written


# ---------------------------------------------------------------- expiring credits


def _windows(settings: Settings) -> list[tuple[int, int]]:
    """(from, to] in days before the expiry, one per warning: with 14 and 1, a lot expiring
    within a day gets the 1-day warning only; within (1, 14] days, the 14-day one."""
    days = sorted(set(settings.notices.expiry_warning_days))
    return list(zip([0, *days[:-1]], days, strict=True))


async def _warn(
    session: AsyncSession, lot_id: str, days: int, settings: Settings, now: datetime
) -> bool:
    lot = await session.get(Lot, lot_id)
    if lot is None or lot.remaining <= 0 or lot.expires_at is None or lot.expires_at <= now:
        return False
    to = await _recipient(session, lot.customer_id)
    if to is None:
        return False
    link = cabinet_page(settings)
    mail = texts.credits_expiring(
        texts.Writer(to.locale), name=to.name, credits=lot.remaining,
        expires_at=lot.expires_at, link=link,
    )  # fmt: skip
    return await send(
        session, key=expiry_key(lot.id, days), kind=NoticeKind.credits_expiring, to=to,
        mail=mail, link=link, settings=settings, now=now, lot_id=lot.id,
        credits=lot.remaining, expires_at=lot.expires_at, days_before=days,
    )  # fmt: skip


async def warn_expiring_credits(db: Database, settings: Settings, now: datetime) -> int:
    """One round: the expiry warning of each lot with credits left that entered a warning
    window and was not warned for it, each in its own transaction."""
    written = 0
    for after, before in _windows(settings):
        key = literal(f"{NoticeKind.credits_expiring.value}:") + Lot.id + literal(f":{before}d")
        stmt = (
            select(Lot.id)
            .where(
                Lot.remaining > 0,
                Lot.expires_at > now + timedelta(days=after),
                Lot.expires_at <= now + timedelta(days=before),
                ~exists().where(Notice.key == key),
            )
            .order_by(Lot.expires_at, Lot.id)
            .limit(settings.notices.batch)
        )
        async with db.unit_of_work() as session:
            lots = list((await session.execute(stmt)).scalars())
        for lot_id in lots:
            try:
                async with db.unit_of_work() as session:
                    written += await _warn(session, lot_id, before, settings, now)
            except Exception:  # as above: the others go on
                logger.exception("expiry warning of lot %s failed; tried again next round", lot_id)
    return written
