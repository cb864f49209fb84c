"""The payment-events inbox: Stripe webhooks verified, stored once per (source, event id)
and applied in the same transaction; events that cannot apply yet are parked and applied
again when their purchase moves (or by `creditdesk sync-payments`)."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import stripe
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import AppError
from app.settings import Settings
from billing import service
from billing.models import EventState, PaymentEvent
from billing.service import Outcome
from billing.stripe_objects import Charge, Dispute, Event, Invoice, PaymentIntent

logger = logging.getLogger("creditdesk.billing.events")

SOURCE_STRIPE = "stripe"


class InvalidSignature(AppError):
    status, code = 400, "invalid_signature"


class InvalidEvent(AppError):
    status, code = 400, "invalid_event"


def verify_stripe_event(
    payload: bytes, signature: str | None, settings: Settings, now: datetime
) -> Event:
    """The event, once the SDK has checked `Stripe-Signature`'s HMAC and its timestamp is
    within the tolerance of `now` (the clock's; the SDK would read the wall clock)."""
    secret = settings.stripe_webhook_secret
    if secret is None:
        raise InvalidSignature("Webhooks are not configured: no CREDITDESK_STRIPE_WEBHOOK_SECRET.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret.get_secret_value())
        _within_tolerance(signature, settings.stripe_webhook_tolerance_seconds, now)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(f"The Stripe-Signature header does not verify: {exc}") from exc
    except ValueError as exc:  # not UTF-8 or not JSON
        raise InvalidSignature("The webhook body is not the JSON that was signed.") from exc
    parsed = Event.parse(event) if isinstance(event, dict) else None
    if parsed is None:
        raise InvalidEvent("The event lacks an id, a type or data.object.")
    return parsed


def _within_tolerance(signature: str | None, tolerance: int, now: datetime) -> None:
    """A signature older than the tolerance is refused (a replay), and so is one dated
    ahead of `now` beyond the same tolerance (clock skew), so that a captured
    future-dated signature cannot be replayed for years."""
    parts = [part.strip() for part in (signature or "").split(",")]
    stamps = [part[2:] for part in parts if part.startswith("t=")]
    try:
        stamp = int(stamps[0].strip())
    except (IndexError, ValueError):
        raise InvalidSignature("The Stripe-Signature header has no timestamp.") from None
    if stamp < now.timestamp() - tolerance:
        raise InvalidSignature("The Stripe-Signature timestamp is too old.")
    if stamp > now.timestamp() + tolerance:
        raise InvalidSignature("The Stripe-Signature timestamp is in the future.")


async def receive(
    session: AsyncSession, event: Event, *, settings: Settings, now: datetime
) -> tuple[PaymentEvent | None, str]:
    """Stores the event (once) and applies it: `(row, outcome)`; no row for a duplicate."""
    intent_id, charge_id = event.about()
    row = PaymentEvent(
        source=SOURCE_STRIPE,
        event_id=event.id,
        type=event.type[:100],
        state=EventState.parked.value,
        payment_intent_id=intent_id,
        charge_id=charge_id,
        provider_created=event.created,
        payload=json.dumps(event.raw, separators=(",", ":"), sort_keys=True),
        received_at=now,
    )
    try:
        # Postgres makes a concurrent delivery of the same event wait here for the first
        # one's transaction, then fail on the unique (source, event_id): a duplicate.
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None, "duplicate"
    await process(session, row, settings=settings, now=now)
    return row, row.state


async def process(
    session: AsyncSession,
    row: PaymentEvent,
    *,
    settings: Settings,
    now: datetime,
    replaying: bool = False,
) -> Outcome:
    """Applies a stored event and records what happened to it."""
    event = Event.parse(json.loads(row.payload))
    try:
        async with session.begin_nested():
            outcome = await _dispatch(session, event, settings=settings, now=now)
    except AppError as exc:  # the ledger refused: keep the event, let a person look
        logger.error("payment event %s refused: %s", row.event_id, exc.detail)
        outcome = Outcome(EventState.rejected, exc.detail)
    if outcome.state is EventState.rejected:
        logger.error("payment event %s rejected: %s", row.event_id, outcome.note)
    row.state = outcome.state.value
    row.note = outcome.note[:500]
    row.purchase_id = outcome.purchase_id or row.purchase_id
    row.processed_at = None if outcome.state is EventState.parked else now
    await session.flush()
    if outcome.unblocks and not replaying:
        await apply_parked(
            session, row.payment_intent_id, row.charge_id, settings=settings, now=now
        )
    return outcome


async def _dispatch(
    session: AsyncSession, event: Event | None, *, settings: Settings, now: datetime
) -> Outcome:
    if event is None:  # stored events were verified on receipt: cannot happen
        return Outcome(EventState.rejected, "the stored event lacks an id, a type or data.object")
    kind, obj = event.type, event.object
    if kind in INTENT_EVENTS:
        return await service.apply_intent(
            session, PaymentIntent.parse(obj), now=now, settings=settings
        )
    if kind == "charge.refunded":
        return await service.apply_refund(session, Charge.parse(obj), now=now, settings=settings)
    if kind in ("charge.dispute.created", "charge.dispute.closed"):
        closed = kind == "charge.dispute.closed"
        return await service.apply_dispute(
            session, Dispute.parse(obj), closed=closed, now=now, settings=settings
        )
    if kind == "invoice.paid":
        return await service.apply_invoice_paid(
            session, Invoice.parse(obj), now=now, settings=settings
        )
    return Outcome(EventState.ignored, "event type not handled")


INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.created",
    }
)

HANDLED_EVENTS = sorted(
    [*INTENT_EVENTS, "charge.refunded", "charge.dispute.created", "charge.dispute.closed",
     "invoice.paid"]
)  # fmt: skip


async def apply_parked(
    session: AsyncSession,
    intent_id: str | None,
    charge_id: str | None,
    *,
    settings: Settings,
    now: datetime,
) -> int:
    """Applies, oldest first, the parked events about this payment. Returns how many left
    the parked state."""
    keys = []
    if intent_id is not None:
        keys.append(PaymentEvent.payment_intent_id == intent_id)
    if charge_id is not None:
        keys.append(PaymentEvent.charge_id == charge_id)
    if not keys:
        return 0
    stmt = (
        select(PaymentEvent)
        .where(PaymentEvent.state == EventState.parked.value, or_(*keys))
        .order_by(PaymentEvent.provider_created, PaymentEvent.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    moved = 0
    for row in list((await session.execute(stmt)).scalars()):
        outcome = await process(session, row, settings=settings, now=now, replaying=True)
        moved += outcome.state is not EventState.parked
    return moved


async def retry_parked(
    session: AsyncSession, event_row_id: int, *, settings: Settings, now: datetime
) -> Outcome | None:
    """One parked event again (sync-payments); None when it is no longer parked."""
    stmt = (
        select(PaymentEvent)
        .where(PaymentEvent.id == event_row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None or row.state != EventState.parked.value:
        return None
    return await process(session, row, settings=settings, now=now)


async def apply_intent_state(
    session: AsyncSession, intent: PaymentIntent, *, settings: Settings, now: datetime
) -> Outcome:
    """A PaymentIntent fetched from Stripe (just created, or re-checked by sync-payments):
    the same code path as its webhook, then whatever was parked waiting for it."""
    outcome = await service.apply_intent(session, intent, now=now, settings=settings)
    if outcome.unblocks:
        await apply_parked(
            session,
            intent.id,
            intent.latest_charge,
            settings=settings,
            now=now,
        )
    return outcome
