"""The transactional outbox: every outgoing mail is a row written in the same transaction
as what caused it, and `send_due` delivers it later, with retries and backoff.

Delivery is at-least-once. A row is claimed under a lease (committed before the SMTP
conversation), sent, then marked `sent` in a second transaction. If the process dies
between the relay's "250 OK" and that commit, the lease expires and the mail is sent
again: exactly-once is impossible without a transaction spanning SMTP and the database.
The resend carries the same Message-ID (fixed when the row was written), so mail stores
and clients that deduplicate on Message-ID show it once. A row marked `sent` is never
claimed again, and two workers never hold the same row (row locks with SKIP LOCKED), so a retry after a recorded success sends nothing."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.email.models import OutboxEmail, OutboxKind, OutboxStatus
from app.kit.db import Database
from app.kit.i18n import normalise
from app.kit.ids import new_id
from app.settings import Settings

logger = logging.getLogger("creditdesk.email.outbox")

REPLY_KINDS = (OutboxKind.auto_reply.value, OutboxKind.refusal.value)


def mail_domain(settings: Settings) -> str:
    return settings.email_from_address.rsplit("@", 1)[-1] or "creditdesk.localhost"


async def enqueue(
    session: AsyncSession,
    *,
    kind: OutboxKind,
    recipient: str,
    subject: str,
    body: str,
    locale: str,
    settings: Settings,
    now: datetime,
    ticket_id: str | None = None,
    in_reply_to: str | None = None,
) -> OutboxEmail:
    """Queues one mail. `locale` is the language `subject` and `body` were written in (the
    customer's, app.kit.i18n): required, so no caller can forget it; sent as the mail's
    `Content-Language`."""
    outbox_id = new_id("out")
    row = OutboxEmail(
        id=outbox_id, message_id=f"<{outbox_id}@{mail_domain(settings)}>", kind=kind.value,
        ticket_id=ticket_id, recipient=recipient, subject=subject, body=body,
        locale=normalise(locale), in_reply_to=in_reply_to, status=OutboxStatus.pending.value,
        attempts=0, next_attempt_at=now, created_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def may_reply(
    session: AsyncSession, recipient: str, settings: Settings, now: datetime
) -> bool:
    """The per-sender rate limit on automatic answers: a mail loop with another robot
    stops after `email_reply_limit` replies per window."""
    if recipient == settings.email_from_address.lower():
        return False
    since = now - timedelta(minutes=settings.email_reply_window_minutes)
    count = await session.scalar(
        select(func.count())
        .select_from(OutboxEmail)
        .where(
            OutboxEmail.recipient == recipient,
            OutboxEmail.kind.in_(REPLY_KINDS),
            OutboxEmail.created_at >= since,
        )
    )
    return int(count or 0) < settings.email_reply_limit


def build_message(row: OutboxEmail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email_from_address
    message["To"] = row.recipient
    message["Subject"] = " ".join(row.subject.split())  # no line breaks in a header
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    if row.in_reply_to:
        message["In-Reply-To"] = row.in_reply_to
        message["References"] = row.in_reply_to
    if row.kind != OutboxKind.staff_reply:
        # RFC 3834: robots must not answer this one, which breaks loops on their side.
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(row.body)
    # RFC 3282, after set_content (which clears every Content-* header): the language the
    # subject and body are written in.
    message["Content-Language"] = row.locale
    return message


def backoff(attempts: int, settings: Settings) -> timedelta:
    seconds = settings.email_outbox_backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.email_outbox_backoff_max_seconds))


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    message: EmailMessage
    attempts: int


async def claim_due(db: Database, settings: Settings, now: datetime) -> list[Claimed]:
    """Takes due rows under a lease, committed before anything is sent: another worker
    skips them until the lease runs out."""
    lease = timedelta(seconds=settings.email_outbox_lease_seconds)
    async with db.unit_of_work() as session:
        stmt = (
            select(OutboxEmail)
            .where(
                OutboxEmail.status == OutboxStatus.pending.value,
                OutboxEmail.next_attempt_at <= now,
            )
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.seq)
            .limit(settings.email_outbox_batch)
        )
        stmt = stmt.with_for_update(skip_locked=True)
        rows = list((await session.execute(stmt)).scalars())
        claimed = []
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + lease
            try:
                message = build_message(row, settings)
            except Exception as exc:  # a row that can never be a mail must not block the rest
                logger.error("outbox row %s cannot be built: %s", row.id, exc)
                row.status = OutboxStatus.dead.value
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                continue
            claimed.append(Claimed(row.id, message, row.attempts))
        return claimed


def _deliver(message: EmailMessage, settings: Settings) -> None:
    assert settings.email_smtp_host is not None  # send_due attempts nothing without a relay
    with smtplib.SMTP(
        settings.email_smtp_host, settings.email_smtp_port,
        timeout=settings.email_smtp_timeout_seconds,
    ) as smtp:  # fmt: skip
        if settings.email_smtp_starttls:
            smtp.starttls()
        if settings.email_smtp_username and settings.email_smtp_password is not None:
            smtp.login(
                settings.email_smtp_username, settings.email_smtp_password.get_secret_value()
            )
        smtp.send_message(message)


async def record(
    db: Database, claimed: Claimed, error: Exception | None, settings: Settings, now: datetime
) -> None:
    async with db.unit_of_work() as session:
        row = await session.scalar(
            select(OutboxEmail).where(OutboxEmail.id == claimed.id).with_for_update()
        )
        if row is None or row.status != OutboxStatus.pending:
            return
        if error is None:
            row.status = OutboxStatus.sent.value
            row.sent_at = now
            row.last_error = None
            return
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        permanent = isinstance(error, smtplib.SMTPRecipientsRefused) and all(
            code >= 500 for code, _ in error.recipients.values()
        )
        if permanent or claimed.attempts >= settings.email_outbox_max_attempts:
            row.status = OutboxStatus.dead.value  # kept, listed, and retried by an operator
        else:
            row.next_attempt_at = now + backoff(claimed.attempts, settings)


# Per database (so per app or CLI process): how much mail was waiting at the last warning
# that no relay is configured.
_warned_at_count: weakref.WeakKeyDictionary[Database, int] = weakref.WeakKeyDictionary()


async def _keep_without_relay(db: Database) -> None:
    """No relay configured (CREDITDESK_EMAIL_SMTP_HOST unset): nothing is attempted, so
    no attempts are spent on a relay that does not exist and no row goes `dead`; the mail
    stays `pending` (attempts 0), listed by `GET /v1/email/outbox` and counted by
    `creditdesk_email_outbox_pending`, and is sent once a relay is set. One warning per
    new count of waiting mail, not one per round."""
    async with db.engine.connect() as conn:
        waiting = int(
            await conn.scalar(
                select(func.count()).where(OutboxEmail.status == OutboxStatus.pending.value)
            )
            or 0
        )
    if waiting and waiting != _warned_at_count.get(db, 0):
        logger.warning(
            "no SMTP relay configured (CREDITDESK_EMAIL_SMTP_HOST): %d outgoing mail kept "
            "pending, not sent",
            waiting,
            extra={"outbox_pending": waiting},
        )
    _warned_at_count[db] = waiting


async def send_due(db: Database, settings: Settings, now: datetime) -> int:
    """Sends what is due; returns how many were sent. Failures are recorded on the row
    and retried later with exponential backoff. Without a relay, sends and tries nothing."""
    if settings.email_smtp_host is None:
        await _keep_without_relay(db)
        return 0
    sent = 0
    for claimed in await claim_due(db, settings, now):
        error: Exception | None = None
        try:
            await asyncio.to_thread(_deliver, claimed.message, settings)
        except Exception as exc:  # any failure is recorded on its row; the batch goes on
            logger.warning("sending %s failed: %s", claimed.id, exc)
            error = exc
        await record(db, claimed, error, settings, now)
        sent += error is None
    return sent


async def requeue_dead(session: AsyncSession, now: datetime) -> int:
    """Gives dead mail another round of attempts (the operator fixed the relay)."""
    rows = list(
        (
            await session.execute(
                select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.dead.value)
            )
        ).scalars()
    )
    for row in rows:
        row.status = OutboxStatus.pending.value
        row.attempts = 0
        row.next_attempt_at = now
    await session.flush()
    return len(rows)
