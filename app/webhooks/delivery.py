"""The webhook outbox: fan-out, then sending under leases, retries and endpoint health.

1. `fan_out` turns events not yet dispatched into one `webhook_deliveries` row per
   enabled endpoint that wants them (type filter, partner scope), in one transaction
   with marking the events dispatched. Rows are unique per (endpoint, event): a second
   fan-out of the same event (two processes) adds nothing. The events are claimed with
   `FOR UPDATE SKIP LOCKED`, so fan-outs in many processes split the work.
2. `send_due` claims due deliveries in a short transaction (`FOR UPDATE SKIP LOCKED`):
   each gets a lease token and its
   `next_attempt_at` moves to the lease's end, so nobody else takes it meanwhile. The
   POSTs happen after that commit, outside any transaction. Results are written in a
   second transaction, only where the lease token still matches.

At least once: a sender that dies after the receiver's 2xx and before recording it
leaves the lease to expire, and the delivery goes again with the same `webhook-id` (the
event id) and the same body. One attempt at a time per (event, endpoint): the row is the
unit of work and its lease is held while the request is in flight (the lease outlasts
the request timeout).

Retries: exponential backoff (`webhook_backoff_seconds` doubling up to
`webhook_backoff_max_seconds`, ±20 % jitter) until `webhook_retry_hours` after the
delivery was made; the attempt at the end of the window is the last, then `failed`. An
endpoint with no success for `webhook_disable_after_hours` is disabled (its pending
deliveries wait; re-enabled by PATCH they resume)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from app.customers.models import Customer
from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.events import Event
from app.kit.ids import new_id
from app.settings import Settings
from app.webhooks import ssrf
from app.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
    event_payload,
)

logger = logging.getLogger("creditdesk.webhooks")

USER_AGENT = "CreditDesk-Webhooks/1"


# ---------------------------------------------------------------- fan-out


def wants(endpoint: WebhookEndpoint, event: Event, parents: dict[str, str | None]) -> bool:
    """Does this endpoint receive this event (type filter, partner scope, creation time)?"""
    if "*" not in endpoint.events and event.type not in endpoint.events:
        return False
    if event.created_at < endpoint.created_at:
        return False
    scope = endpoint.scope_customer_id
    if scope is None:
        return True
    cid = event.customer_id
    return cid is not None and (cid == scope or parents.get(cid) == scope)


async def fan_out(db: Database, now: datetime, settings: Settings) -> int:
    """Dispatches every undispatched event; returns how many events it dispatched."""
    total = 0
    while True:
        async with db.unit_of_work() as session:
            done = await _fan_out_batch(session, now, settings.webhook_batch)
        total += done
        if done < settings.webhook_batch:
            return total


async def _fan_out_batch(session: AsyncSession, now: datetime, limit: int) -> int:
    stmt = (
        select(Event)
        .where(Event.dispatched_at.is_(None))
        .order_by(Event.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    events = list((await session.execute(stmt)).scalars())
    if not events:
        return 0
    endpoints = list(
        (
            await session.execute(
                select(WebhookEndpoint).where(WebhookEndpoint.status == EndpointStatus.enabled)
            )
        ).scalars()
    )
    parents: dict[str, str | None] = {}
    if any(e.scope_customer_id for e in endpoints):
        ids = {e.customer_id for e in events if e.customer_id}
        rows = await session.execute(
            select(Customer.id, Customer.parent_id).where(Customer.id.in_(ids))
        )
        parents = {cid: parent for cid, parent in rows}
    values = []
    for event in events:
        body = None
        for endpoint in endpoints:
            if not wants(endpoint, event, parents):
                continue
            body = body or json.dumps(event_payload(event), separators=(",", ":"))
            values.append(
                {
                    "id": new_id("whd"), "endpoint_id": endpoint.id, "event_id": event.id,
                    "event_type": event.type, "payload": body,
                    "status": DeliveryStatus.pending.value, "attempts": 0,
                    "next_attempt_at": now, "created_at": now,
                }
            )  # fmt: skip
    if values:
        insert = pg_insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]
        )
        await session.execute(insert, values)
    await session.execute(
        update(Event)
        .where(Event.seq.in_([e.seq for e in events]))
        .values(dispatched_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(events)


# ---------------------------------------------------------------- sending


@dataclass(slots=True)
class Claimed:
    seq: int
    event_id: str
    endpoint_id: str
    url: str
    secret: str
    payload: str
    attempts: int
    created_at: datetime


@dataclass(slots=True)
class Result:
    claimed: Claimed
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_client(settings: Settings) -> httpx.AsyncClient:
    """Strict timeouts, no redirects, no proxies or credentials from the environment."""
    timeout = httpx.Timeout(
        settings.webhook_timeout_seconds, connect=min(5.0, settings.webhook_timeout_seconds)
    )
    limits = httpx.Limits(max_connections=settings.webhook_concurrency * 2)
    return httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, trust_env=False, limits=limits
    )


def sign(secret: str, event_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` (Standard Webhooks)."""
    return Webhook(secret).sign(event_id, datetime.fromtimestamp(timestamp, UTC), body)


async def send_due(
    db: Database, clock: Clock, settings: Settings, client: httpx.AsyncClient | None = None
) -> int:
    """Claims and sends due deliveries until none is due; returns how many were attempted.
    The clock is read for each batch: a long backlog's later leases and signatures are not
    dated when the round began."""
    own = client is None
    client = client or new_client(settings)
    total = 0
    try:
        while True:
            now = clock.now()
            async with db.unit_of_work() as session:
                claimed, token = await _claim(session, now, settings)
            if not claimed:
                return total
            results = await _send_all(client, claimed, settings, clock)
            async with db.unit_of_work() as session:
                await _record(session, results, token, now, settings)
            total += len(claimed)
            if len(claimed) < settings.webhook_batch:
                return total
    finally:
        if own:
            await client.aclose()


async def _claim(
    session: AsyncSession, now: datetime, settings: Settings
) -> tuple[list[Claimed], str]:
    stmt = (
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.pending.value,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.status == EndpointStatus.enabled.value,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.seq)
        .limit(settings.webhook_batch)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    rows = (await session.execute(stmt)).all()
    token = new_id("lse")
    if not rows:
        return [], token
    claimed = [
        Claimed(
            seq=d.seq, event_id=d.event_id, endpoint_id=d.endpoint_id, url=url, secret=secret,
            payload=d.payload, attempts=d.attempts, created_at=d.created_at,
        )
        for d, url, secret in rows
    ]  # fmt: skip
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.seq.in_([c.seq for c in claimed]))
        .values(
            lease_token=token,
            next_attempt_at=now + timedelta(seconds=settings.webhook_lease_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    return claimed, token


async def _send_all(
    client: httpx.AsyncClient, claimed: list[Claimed], settings: Settings, clock: Clock
) -> list[Result]:
    gate = asyncio.Semaphore(settings.webhook_concurrency)

    async def one(c: Claimed) -> Result:
        async with gate:
            return await send_one(client, c, settings, clock)

    return list(await asyncio.gather(*(one(c) for c in claimed)))


async def send_one(
    client: httpx.AsyncClient, c: Claimed, settings: Settings, clock: Clock
) -> Result:
    """One POST; never raises (a failure is a result). The timestamp is the clock's at
    sending (the wall clock in service): receivers compare it with theirs to refuse
    replays."""
    allow = settings.webhooks_may_reach_private
    try:
        target = await ssrf.resolve(c.url, allow_private=allow)
    except ssrf.Refused as exc:
        return Result(c, None, f"refused: {exc}")
    timestamp = int(clock.now().timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": target.host_header,
        "webhook-id": c.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(c.secret, c.event_id, timestamp, c.payload),
    }
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
    try:
        request = client.build_request(
            "POST", target.url, content=c.payload.encode(), headers=headers,
            extensions=extensions,
        )  # fmt: skip
        response = await client.send(request, stream=True)
        await response.aclose()  # the answer's body is not needed: never read it
    except httpx.TimeoutException:
        return Result(c, None, "timed out")
    except httpx.HTTPError as exc:
        return Result(c, None, f"{type(exc).__name__}: {exc}"[:1000])
    if 200 <= response.status_code < 300:
        return Result(c, response.status_code, None)
    return Result(c, response.status_code, f"answered HTTP {response.status_code}")


def backoff(attempts: int, settings: Settings) -> timedelta:
    """The wait after the `attempts`-th failure: doubling, capped, ±20 % jitter."""
    base = settings.webhook_backoff_seconds * 2 ** min(attempts - 1, 30)
    delay = min(base, settings.webhook_backoff_max_seconds)
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


async def _record(
    session: AsyncSession, results: list[Result], token: str, now: datetime, settings: Settings
) -> None:
    window = timedelta(hours=settings.webhook_retry_hours)
    healthy: dict[str, bool] = defaultdict(bool)
    for r in results:
        c = r.claimed
        attempts = c.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts, "last_attempt_at": now, "last_status_code": r.status_code,
            "last_error": r.error, "lease_token": None,
        }  # fmt: skip
        if r.ok:
            values |= {"status": DeliveryStatus.succeeded.value, "next_attempt_at": None,
                       "delivered_at": now}  # fmt: skip
        elif now - c.created_at >= window:
            values |= {"status": DeliveryStatus.failed.value, "next_attempt_at": None}
        else:
            values["next_attempt_at"] = min(
                now + backoff(attempts, settings), c.created_at + window
            )
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.seq == c.seq, WebhookDelivery.lease_token == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        healthy[c.endpoint_id] |= r.ok
    for endpoint_id in sorted(healthy):  # id order: concurrent recorders cannot deadlock
        await _endpoint_health(session, endpoint_id, healthy[endpoint_id], now, settings)


async def _endpoint_health(
    session: AsyncSession, endpoint_id: str, ok: bool, now: datetime, settings: Settings
) -> None:
    ep = WebhookEndpoint
    if ok:
        await session.execute(
            update(ep)
            .where(ep.id == endpoint_id, ep.failing_since.is_not(None))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )
        return
    await session.execute(
        update(ep)
        .where(ep.id == endpoint_id, ep.failing_since.is_(None))
        .values(failing_since=now)
        .execution_options(synchronize_session=False)
    )
    limit = now - timedelta(hours=settings.webhook_disable_after_hours)
    disabled = await session.execute(
        update(ep)
        .where(
            ep.id == endpoint_id,
            ep.status == EndpointStatus.enabled.value,
            ep.failing_since <= limit,
        )
        .values(
            status=EndpointStatus.disabled.value,
            disabled_reason=f"no successful delivery for {settings.webhook_disable_after_hours:g} h",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if disabled.rowcount:  # type: ignore[attr-defined]
        logger.warning("webhook endpoint %s disabled: failing since %s", endpoint_id, limit)


# ---------------------------------------------------------------- retention


async def purge(db: Database, now: datetime, settings: Settings) -> int:
    """Deletes dispatched events and finished deliveries older than the retention."""
    from sqlalchemy import delete

    cutoff = now - timedelta(days=settings.events_retention_days)
    async with db.unit_of_work() as session:
        gone = await session.execute(
            delete(Event).where(Event.created_at < cutoff, Event.dispatched_at.is_not(None))
        )
        await session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.created_at < cutoff,
                WebhookDelivery.status != DeliveryStatus.pending.value,
            )
        )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]
