"""The composition root: create_app() wires settings, database, clock, routers, errors."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.responses import JSONResponse, Response

from app import docs, tasks
from app.api_examples import load_examples
from app.customers import service as customers_service
from app.email.models import OutboxEmail, OutboxStatus
from app.features import FEATURES, wire_subscriptions
from app.kit import openapi, registry
from app.kit.clock import Clock, process_clock
from app.kit.db import Database, PoolTimeout, is_unavailable
from app.kit.errors import (
    AppError,
    database_unavailable,
    install_error_handlers,
    problem,
    problem_responses,
)
from app.kit.events import Event
from app.kit.fastpath import FastPathMiddleware
from app.kit.observability import (
    BodyLimitMiddleware,
    Metrics,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    configure_logging,
    render_metrics,
    worker_exited,
)
from app.kit.ratelimit import Limits, RateLimitMiddleware
from app.kit.url_credentials import RefuseUrlCredentialsMiddleware
from app.settings import Settings, settings_from_env

logger = logging.getLogger("creditdesk")


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, freeze_heap: bool = False
) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.from_settings(settings)
        app.state.db = db
        await _register_bootstrap_key(db, app.state.clock, settings)
        background = None
        if settings.periodic_tasks_enabled:
            background = asyncio.create_task(tasks.run_periodically(db, app.state.clock, settings))
        try:
            async with registry.lifespans(FEATURES, app, settings):
                if freeze_heap:
                    # What exists now lives as long as the process: out of the collector's
                    # way, so a full collection under load walks only what requests made
                    # (shorter pauses in the tail, issue 19). `creditdesk serve` only.
                    gc.collect()
                    gc.freeze()
                yield
        finally:
            if background is not None:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            await db.dispose()
            worker_exited()

    app = FastAPI(
        title="CreditDesk",
        version=openapi.API_VERSION,
        summary="Prepaid support credits and a two-line support desk.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        docs_url=None,  # app.docs serves them without a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if settings.serves_docs else None,
    )
    app.state.settings = settings
    app.state.clock = clock or process_clock(settings.clock_start)
    app.state.metrics = metrics
    install_error_handlers(app)
    _install_database_error_handlers(app)
    # innermost: inside every limit and the request context, before routing
    app.add_middleware(FastPathMiddleware, paths=list(registry.fast_paths(FEATURES)))
    app.add_middleware(RefuseUrlCredentialsMiddleware)  # before any route or fast path
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        read_timeout=settings.body_read_timeout_seconds,
    )
    if settings.rate_limits_on:
        app.add_middleware(RateLimitMiddleware, limits=rate_limits(settings))
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.cors_origins:
        # Bearer tokens only (no cookies): browsers on these origins may call the API; any
        # other origin gets no Access-Control-Allow-Origin and the browser refuses it.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Idempotent-Replayed", "Retry-After"],
            max_age=600,
        )
    _add_operational_routes(app, settings, metrics)
    if settings.serves_docs:  # not in production unless CREDITDESK_DOCS_ENABLED
        docs.install(app)
    for router in registry.routers(FEATURES):
        app.include_router(router)
    wire_subscriptions()
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _register_bootstrap_key(db: Database, clock: Clock, settings: Settings) -> None:
    if settings.bootstrap_admin_key is None:
        return
    try:
        async with db.unit_of_work() as session:
            if await customers_service.ensure_bootstrap_key(
                session, settings.bootstrap_admin_key.get_secret_value(), clock.now()
            ):
                logger.info("registered the bootstrap admin key")
    except IntegrityError:
        pass  # another worker registered it at the same moment


def _add_operational_routes(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        """Readiness: 200 when the database answers, 503 otherwise."""
        try:
            await asyncio.wait_for(request.app.state.db.ping(), timeout=5)
        except Exception:
            logger.warning("readiness check failed", exc_info=True)
            return problem(503, "service_unavailable", "The database does not answer.")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus metrics: requests and business counters (summed over all workers under
        `creditdesk serve --workers N`), and delivery backlogs counted at scrape."""
        if settings.metrics_token is None and settings.env == "production":
            raise AppError("No such resource.", code="not_found", status=404)  # no token set
        if settings.metrics_token is not None:
            expected = f"Bearer {settings.metrics_token.get_secret_value()}"
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise AppError("A metrics token is required.", code="unauthenticated", status=401)
        backlog = await _backlog(request.app.state.db)
        return Response(render_metrics(metrics, backlog), media_type=CONTENT_TYPE_LATEST)


async def _backlog(db: Database) -> dict[str, tuple[str, float]]:
    """Delivery backlogs, counted at scrape from the database (empty if it does not
    answer: a scrape must not fail with it). Follow-up (issue 13): the webhook deliveries
    table gets its own `creditdesk_webhook_deliveries_pending` gauge when it lands; until
    then the events outbox's undispatched events stand for the webhook backlog."""
    try:
        async with db.engine.connect() as conn:
            mail = await conn.scalar(
                select(func.count()).where(OutboxEmail.status == OutboxStatus.pending.value)
            )
            events = await conn.scalar(select(func.count()).where(Event.dispatched_at.is_(None)))
    except Exception:
        logger.warning("metrics: the backlog could not be counted", exc_info=True)
        return {}
    return {
        "creditdesk_email_outbox_pending": ("E-mails waiting to be sent", float(mail or 0)),
        "creditdesk_events_undispatched": (
            "Domain events not yet dispatched to webhooks",
            float(events or 0),
        ),
    }


def _install_database_error_handlers(app: FastAPI) -> None:
    async def conflict(_request: Request, _exc: Exception) -> Response:
        return problem(409, "conflict", "The request collided with a concurrent change; retry it.")

    async def unavailable(_request: Request, exc: Exception) -> Response:
        if not is_unavailable(exc):
            logger.error("database error", exc_info=exc)
            return problem(
                500, "internal_error", "An unexpected error occurred; it has been logged."
            )
        logger.warning("database unavailable", exc_info=exc)
        return database_unavailable()

    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(DBAPIError, unavailable)
    app.add_exception_handler(OSError, unavailable)
    app.add_exception_handler(PoolTimeout, unavailable)  # every pooled connection busy


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = openapi.build(
            app, events=registry.event_objects(FEATURES), examples=load_examples()
        )
        _declare_hardening_problems(schema)
        app.openapi_schema = schema
    return app.openapi_schema


# What the hardening middleware answers on top of what app.kit.openapi declares (issue 12,
# found by the schemathesis fuzz test): 429 `rate_limited` on any API operation, and 408
# `request_timeout` wherever a body is read (where 413 is declared).
def _declare_hardening_problems(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            wanted = (408, 429) if "413" in responses else (429,)
            for status, declared in problem_responses(*wanted).items():
                responses.setdefault(str(status), declared)
                if status == 429:
                    responses[str(status)]["headers"] = {
                        "Retry-After": {
                            "description": "seconds to wait before retrying",
                            "schema": {"type": "integer"},
                        }
                    }


def configure_from_env() -> FastAPI:
    """uvicorn factory used by `creditdesk serve`."""
    settings = settings_from_env()
    configure_logging(settings.log_level, json_format=settings.log_json)
    return create_app(settings, freeze_heap=True)


def rate_limits(settings: Settings) -> Limits:
    return Limits(
        per_key=settings.rate_limit_per_key,
        per_address=settings.rate_limit_per_address,
        auth_failures=settings.rate_limit_auth_failures,
        window=settings.rate_limit_window_seconds,
    )
