"""Domain events: the transactional outbox every feature writes to.

A change that an API user may want to react to writes one `events` row **in the same
transaction as the change** (`record_event`, then the request's commit): no event without
its change, no change without its event. A rolled-back request (a 402, a conflict, a crash)
leaves none. Everything that leaves the database later — outbound webhooks, mails about an
event — reads these rows after commit; nothing is sent from inside a request.

The row is the public shape of the event (`EventRead` in the webhooks feature renders it):
`{id: "evt_…", type, created_at, customer_id, data: {object: <the resource as the API shows
it>}, previous?: {changed fields' old values}}`.

`seq` orders events by insertion and is the keyset of `GET /v1/events`; `dispatched_at` is set
by the webhook fan-out once every matching endpoint has its delivery row (the partial index
keeps the fan-out's scan to the undispatched rows only).

This module is plumbing (layer `app.kit`): every feature may import it, it imports no feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, Index, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.ids import new_id
from app.kit.types import BigIntPK, UTCDateTime


class EventType(StrEnum):
    """Every event type CreditDesk emits (docs/webhooks.md; the `webhooks` section of the
    OpenAPI document has each one's schema)."""

    customer_created = "customer.created"
    ticket_created = "ticket.created"
    ticket_status_changed = "ticket.status_changed"
    ticket_message_added = "ticket.message_added"
    ticket_transfer_requested = "ticket.transfer_requested"
    ticket_charged = "ticket.charged"
    ticket_refunded = "ticket.refunded"
    credits_granted = "credits.granted"
    credits_expired = "credits.expired"
    balance_low = "balance.low"
    balance_depleted = "balance.depleted"
    purchase_succeeded = "purchase.succeeded"
    purchase_failed = "purchase.failed"
    purchase_refunded = "purchase.refunded"
    sla_breached = "sla.breached"
    sla_escalated = "sla.escalated"
    auto_top_up_failed = "auto_top_up.failed"
    notice_transfer_consent = "notice.transfer_consent"
    notice_ticket_refunded = "notice.ticket_refunded"
    notice_ticket_resolved = "notice.ticket_resolved"
    notice_credits_expiring = "notice.credits_expiring"


class Event(Base):
    """One domain event (see the module docstring)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer_id_seq", "customer_id", "seq"),
        Index("ix_events_txid_seq", "txid", "seq"),
        Index("ix_events_created_at", "created_at"),
        Index(
            "ix_events_undispatched",
            "seq",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON())
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The writing transaction's id (`pg_current_xact_id()`), so that readers list only
    # events no running transaction can still precede (GET /v1/events).
    txid: Mapped[int | None] = mapped_column(BigInteger())


# Set by the database at insert: the writing transaction's 64-bit id.
_CURRENT_TXID = text("pg_current_xact_id()::text::bigint")


def _jsonable(obj: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    return dict(obj)


def record_event(
    session: AsyncSession,
    type: EventType,
    *,
    customer_id: str | None,
    obj: BaseModel | Mapping[str, Any],
    now: datetime,
    previous: Mapping[str, Any] | None = None,
) -> Event:
    """Add one event to the caller's transaction (flushed with the caller's next flush).

    `obj` is the resource as the API shows it at this moment (its Read schema, or a dict
    already in JSON shape); `previous` holds the old values of the fields that changed."""
    event = Event(
        id=new_id("evt"),
        type=type.value,
        customer_id=customer_id,
        created_at=now,
        data={"object": _jsonable(obj)},
        previous=dict(previous) if previous is not None else None,
    )
    event.txid = _CURRENT_TXID  # type: ignore[assignment]
    session.add(event)
    return event
