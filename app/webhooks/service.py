"""Events to read and webhook endpoints to manage, each seen only by who may see it.

Who sees what: admins everything; an unscoped integration key every event and the
endpoints not tied to a partner; a partner's (scoped) integration key the events of the
partner and its end customers and the endpoints it made for them; a customer key its own
events. Anything else is 404."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, false, literal_column, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.kit.auth import Principal, Role
from app.kit.errors import Conflict, NotFound, ValidationFailed
from app.kit.events import Event
from app.kit.ids import new_id
from app.kit.pagination import (
    Page,
    cursor_int,
    cursor_ints,
    cursor_text,
    encode_cursor,
    keyset_page,
)
from app.settings import Settings
from app.webhooks import ssrf
from app.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import (
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EventRead,
)

# ---------------------------------------------------------------- events

HORIZON = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def _scope_filter(principal: Principal, column: Any) -> ColumnElement[bool]:
    if principal.is_customer:
        return column == principal.customer_id
    if principal.partner_id is not None:
        partner = principal.partner_id
        tree = select(Customer.id).where(or_(Customer.id == partner, Customer.parent_id == partner))
        return column.in_(tree)
    return true()


async def list_events(
    session: AsyncSession,
    principal: Principal,
    *,
    type: str | None,
    customer_id: str | None,
    created_gte: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[EventRead]:
    """Oldest first; `customer_id` is a filter already resolved through the access rule
    (`app.kit.access.ListScope`), the rows are the caller's reach besides. The keyset is
    (writing transaction id, seq) and only events of transactions older than every running
    one are listed (`pg_current_snapshot`): a transaction still open may yet commit an event
    with a lower `seq`, and a consumer paging past it would never see it. Such events show
    up moments later, after the cursor, never before it."""
    after = cursor_ints(cursor, "after", 2)
    stmt = select(*_EVENT_COLUMNS).where(_scope_filter(principal, Event.customer_id))
    stmt = stmt.limit(limit + 1)
    if type is not None:
        stmt = stmt.where(Event.type == type)
    if customer_id is not None:
        stmt = stmt.where(Event.customer_id == customer_id)
    if created_gte is not None:
        stmt = stmt.where(Event.created_at >= created_gte)
    horizon: Any = literal_column(HORIZON)  # the oldest transaction still running
    stmt = stmt.where(Event.txid < horizon).order_by(Event.txid, Event.seq)
    if after is not None:
        stmt = stmt.where(tuple_(Event.txid, Event.seq) > tuple_(*after))
    rows = list((await session.execute(stmt)).all())  # the columns, not ORM objects
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        data=[event_read(e) for e in rows],
        next_cursor=encode_cursor({"after": [rows[-1].txid or 0, rows[-1].seq]}) if more else None,
    )


# What a listed event shows, and its keyset position.
_EVENT_COLUMNS = (
    Event.id, Event.type, Event.created_at, Event.customer_id, Event.data, Event.previous,
    Event.txid, Event.seq,
)  # fmt: skip


def event_read(event: Event | Row[Any]) -> EventRead:
    return EventRead(
        id=event.id, type=event.type, created_at=event.created_at,
        customer_id=event.customer_id, data=event.data, previous=event.previous,
    )  # fmt: skip


# ---------------------------------------------------------------- endpoints


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_read(endpoint: WebhookEndpoint) -> EndpointRead:
    return EndpointRead(
        id=endpoint.id, url=endpoint.url, events=endpoint.events,
        description=endpoint.description, status=endpoint.status,
        disabled_reason=endpoint.disabled_reason, customer_id=endpoint.scope_customer_id,
        created_at=endpoint.created_at, updated_at=endpoint.updated_at,
    )  # fmt: skip


def manages(principal: Principal, owner: str | None) -> bool:
    """Whose a webhook endpoint is (`owner`: the partner whose scoped key made it, or None,
    the service's own): an admin manages every one, an integration key its partner's (or,
    unscoped, the service's own). Another caller's endpoint does not exist for it."""
    if principal.role is Role.admin:
        return True
    return principal.role is Role.integration and owner == principal.partner_id


def _endpoint_filter(principal: Principal) -> ColumnElement[bool]:
    """`manages` as SQL."""
    if principal.role is Role.admin:
        return true()
    if principal.role is not Role.integration:
        return false()
    return WebhookEndpoint.scope_customer_id == principal.partner_id if principal.partner_id \
        else WebhookEndpoint.scope_customer_id.is_(None)  # fmt: skip


async def create_endpoint(
    session: AsyncSession,
    principal: Principal,
    data: EndpointCreate,
    *,
    settings: Settings,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    url = ssrf.check_url(data.url, allow_private=settings.webhooks_may_reach_private)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("whe"), url=url, events=data.events, description=data.description,
        secret=secret, status=EndpointStatus.enabled.value,
        scope_customer_id=principal.partner_id, created_by=principal.key_id,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, _endpoint_filter(principal)
    )
    if lock:
        stmt = stmt.with_for_update()
    endpoint = (await session.execute(stmt)).scalar_one_or_none()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


async def list_endpoints(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int
) -> Page[EndpointRead]:
    stmt = (
        select(WebhookEndpoint)
        .where(_endpoint_filter(principal))
        .order_by(WebhookEndpoint.id)
        .limit(limit + 1)
    )
    after = cursor_text(cursor, "after")
    if after is not None:
        stmt = stmt.where(WebhookEndpoint.id > after)
    rows = list((await session.execute(stmt)).scalars())
    return keyset_page(rows, limit, key="after", position=lambda e: e.id, read=endpoint_read)


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    data: EndpointUpdate,
    *,
    settings: Settings,
    now: datetime,
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    changes = data.model_dump(exclude_unset=True)
    for field in ("url", "events", "status"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(f"`{field}` cannot be null.", field=field)
    if "url" in changes:
        endpoint.url = ssrf.check_url(
            changes["url"], allow_private=settings.webhooks_may_reach_private
        )
    if "events" in changes:
        endpoint.events = changes["events"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if changes.get("status") == EndpointStatus.enabled and endpoint.status != "enabled":
        endpoint.status = EndpointStatus.enabled.value
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    elif changes.get("status") == EndpointStatus.disabled and endpoint.status != "disabled":
        endpoint.status = EndpointStatus.disabled.value
        endpoint.disabled_reason = "disabled through the API"
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, principal: Principal, endpoint_id: str) -> None:
    endpoint = await get_endpoint(session, principal, endpoint_id, lock=True)
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    await session.delete(endpoint)
    await session.flush()


# ---------------------------------------------------------------- deliveries


def delivery_read(d: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(
        id=d.id, event_id=d.event_id, event_type=d.event_type, status=d.status,
        attempts=d.attempts, last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code, last_error=d.last_error,
        next_attempt_at=d.next_attempt_at, delivered_at=d.delivered_at, created_at=d.created_at,
    )  # fmt: skip


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    *,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[DeliveryRead]:
    """Newest first."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.seq.desc())
        .limit(limit + 1)
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status.value)
    before = cursor_int(cursor, "before")
    if before is not None:
        stmt = stmt.where(WebhookDelivery.seq < before)
    rows = list((await session.execute(stmt)).scalars())
    return keyset_page(rows, limit, key="before", position=lambda d: d.seq, read=delivery_read)


async def retry_delivery(
    session: AsyncSession, principal: Principal, endpoint_id: str, delivery_id: str, now: datetime
) -> WebhookDelivery:
    """Due now. A failed or succeeded delivery gets one more attempt (more if that fails
    within the retry window); one whose attempt is in flight answers 409."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id)
        .with_for_update()
    )
    delivery = (await session.execute(stmt)).scalar_one_or_none()
    if delivery is None:
        raise NotFound("No such delivery.")
    in_flight = delivery.lease_token is not None and (
        delivery.next_attempt_at is not None and delivery.next_attempt_at > now
    )
    if in_flight:
        raise Conflict(
            "This delivery is being attempted right now; retry when it is done.",
            code="delivery_in_flight",
        )
    delivery.status = DeliveryStatus.pending.value
    delivery.next_attempt_at = now
    delivery.lease_token = None
    await session.flush()
    return delivery
