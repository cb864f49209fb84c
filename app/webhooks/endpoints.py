"""Events and webhook endpoints over HTTP: thin handlers; the rules live in service.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.access import ListScope, owned_guard
from app.kit.auth import Principal, Role, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import problem_responses
from app.kit.events import EventType
from app.kit.inputs import Instant
from app.kit.pagination import Cursor, Limit, Page
from app.kit.routing import TransactionalRoute, redact_from_idempotency_record
from app.kit.session import get_session
from app.settings import Settings
from app.webhooks import service
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import (
    DeliveryRead,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    EventRead,
)

router = APIRouter(prefix="/v1", route_class=TransactionalRoute)
MANAGERS = (Role.admin, Role.integration)
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
# An endpoint, and a delivery of one, exist only for the callers that manage the endpoint.
EndpointInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(WebhookEndpoint.scope_customer_id).where(
                WebhookEndpoint.id == bindparam("endpoint_id")
            ),
            {"endpoint_id": "`whe_…`"},
            noun="webhook endpoint",
            rule=service.manages,
        )
    ),
]
DeliveryInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(WebhookEndpoint.scope_customer_id)
            .join(WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
            .where(
                WebhookEndpoint.id == bindparam("endpoint_id"),
                WebhookDelivery.id == bindparam("delivery_id"),
            ),
            {"endpoint_id": "`whe_…`", "delivery_id": "`whd_…`"},
            noun="delivery",
            rule=service.manages,
        )
    ),
]
# staff too: the console refreshes its queue from them (docs/console.md)
EVENT_READERS = (Role.admin, Role.integration, Role.customer, Role.cr_agent, Role.engineer)


@router.get(
    "/events",
    response_model=Page[EventRead],
    tags=["events"],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_events(
    scope: ListScope,
    type: EventType | None = None,
    created_gte: Instant | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    principal: Principal = Depends(require_roles(*EVENT_READERS)),
    session: AsyncSession = Depends(get_session),
) -> Page[EventRead]:
    """Events, oldest first: catch up from your last cursor. A customer key reads its own;
    a partner's key its own and its end customers'. Kept at least 30 days."""
    return await service.list_events(
        session, principal, type=type.value if type else None, customer_id=scope.customer_id,
        created_gte=created_gte, cursor=cursor, limit=limit,
    )  # fmt: skip


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=EndpointCreated,
    tags=["webhooks"],
    responses=problem_responses(401, 403, 422),
)
async def create_endpoint(
    request: Request,
    body: EndpointCreate,
    principal: Principal = Depends(require_roles(*MANAGERS)),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> EndpointCreated:
    """Register a URL for events. The signing secret is in this response only."""
    redact_from_idempotency_record(request, "secret")
    endpoint, secret = await service.create_endpoint(
        session, principal, body, settings=settings, now=now
    )
    return EndpointCreated(**service.endpoint_read(endpoint).model_dump(), secret=secret)


@router.get(
    "/webhook-endpoints",
    response_model=Page[EndpointRead],
    tags=["webhooks"],
    responses=problem_responses(401, 403, 422),
)
async def list_endpoints(
    cursor: Cursor = None,
    limit: Limit = 50,
    principal: Principal = Depends(require_roles(*MANAGERS)),
    session: AsyncSession = Depends(get_session),
) -> Page[EndpointRead]:
    """The webhook endpoints this key may manage."""
    return await service.list_endpoints(session, principal, cursor=cursor, limit=limit)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=EndpointRead,
    tags=["webhooks"],
    responses=problem_responses(401, 403, 404),
)
async def get_endpoint(
    principal: Manager,
    endpoint_id: EndpointInReach,
    session: AsyncSession = Depends(get_session),
) -> EndpointRead:
    """Read a webhook endpoint (never its secret)."""
    return service.endpoint_read(await service.get_endpoint(session, principal, endpoint_id))


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=EndpointRead,
    tags=["webhooks"],
    responses=problem_responses(401, 403, 404, 422),
)
async def update_endpoint(
    body: EndpointUpdate,
    principal: Manager,
    endpoint_id: EndpointInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> EndpointRead:
    """Change the URL, event types or description; `status: enabled` re-enables an
    endpoint disabled after failing for days (its waiting deliveries resume)."""
    endpoint = await service.update_endpoint(
        session, principal, endpoint_id, body, settings=settings, now=now
    )
    return service.endpoint_read(endpoint)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=204,
    tags=["webhooks"],
    responses=problem_responses(401, 403, 404),
)
async def delete_endpoint(
    principal: Manager,
    endpoint_id: EndpointInReach,
    session: AsyncSession = Depends(get_session),
) -> Response:
    """Remove an endpoint and its delivery log; nothing more is sent to it."""
    await service.delete_endpoint(session, principal, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryRead],
    tags=["webhooks"],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_deliveries(
    principal: Manager,
    endpoint_id: EndpointInReach,
    status: DeliveryStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    session: AsyncSession = Depends(get_session),
) -> Page[DeliveryRead]:
    """The endpoint's deliveries, newest first: attempts, last status code and error, next
    try."""
    return await service.list_deliveries(
        session, principal, endpoint_id, status=status, cursor=cursor, limit=limit
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryRead,
    tags=["webhooks"],
    responses=problem_responses(401, 403, 404, 409),
)
async def retry_delivery(
    principal: Manager,
    endpoint_id: EndpointInReach,
    delivery_id: DeliveryInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> DeliveryRead:
    """Send a delivery again now (same `webhook-id`), whatever its state; 409 while an
    attempt is in flight."""
    delivery = await service.retry_delivery(session, principal, endpoint_id, delivery_id, now)
    return service.delivery_read(delivery)
