"""Request ids, JSON logs, Prometheus metrics and the body-size limit (pure ASGI)."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.errors import problem
from app.kit.inputs import unstorable

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("creditdesk.access")


class RequestIdFilter(logging.Filter):
    """Adds the request id, and drops uvicorn's `color_message` (the message again, with
    ANSI colour codes, meant for its own terminal formatter): a JSON line would copy it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.__dict__.pop("color_message", None)
        return True


def rfc3339_utc(record: logging.LogRecord) -> str:
    """`2026-11-22T10:00:00.123Z`: the API's timestamp form, whatever the host's zone."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _UtcJsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return rfc3339_utc(record)


class _UtcTextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return rfc3339_utc(record)


def configure_logging(level: str = "INFO", *, json_format: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if json_format:
        handler.setFormatter(
            _UtcJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            _UtcTextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access log carries the id


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "creditdesk_http_requests_total",
            "HTTP requests by route, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "creditdesk_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


# ---------------------------------------------------------------- across worker processes

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_mode() -> bool:
    """True in a worker of `creditdesk serve --workers N` (N > 1): prometheus-client then
    keeps every metric in a file per process under PROMETHEUS_MULTIPROC_DIR, and a scrape
    sums the files of all workers, so no counter goes backwards whichever worker answers.
    (The choice is made when prometheus-client is imported, so it is read from there.)"""
    return bool(os.environ.get(MULTIPROC_ENV)) and bool(
        getattr(prometheus_values.ValueClass, "_multiprocess", False)
    )


def prepare_multiprocess_dir(path: str) -> None:
    """Creates the metrics directory, emptied of a previous run's files (stale counters
    would otherwise be added to the new ones)."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def worker_exited() -> None:
    """A worker's bookkeeping on exit (its live gauges leave the sums)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())


# ---------------------------------------------------------------- business counters

# Module-level (one set per process): the ledger and the desk count what they post. All
# are labelled: a labelled metric makes no value (in multiprocess mode: no file) until
# first used, so importing this module in `creditdesk serve`'s parent writes nothing.
BUSINESS = CollectorRegistry(auto_describe=True)
TICKET_SUBMISSIONS = Counter(
    "creditdesk_ticket_submissions_total", "Tickets submitted, by line", ["line"],
    registry=BUSINESS,
)  # fmt: skip
FAST_SUBMITS = Counter(
    "creditdesk_fast_submits_total",
    "Submissions that tried the one-call path on PostgreSQL: `answered`, or handed to the "
    "general path with the function's reason (`duplicate`, `balance`, `config`, …)",
    ["outcome"],
    registry=BUSINESS,
)
INSUFFICIENT_CREDITS = Counter(
    "creditdesk_insufficient_credits_total",
    "Requests refused with 402 insufficient_credits, by route",
    ["route"],
    registry=BUSINESS,
)
REFUNDS = Counter(
    "creditdesk_refunds_total",
    "Refunds by reason: ticket charges (misrouted, out_of_scope, merged, product_bug, "
    "sla_breach) and money (stripe_refund, dispute_lost)",
    ["reason"],
    registry=BUSINESS,
)
CREDITS_GRANTED = Counter(
    "creditdesk_credits_granted_total",
    "Credits granted, by source (purchase, spend_reward, adjustment)",
    ["source"],
    registry=BUSINESS,
)


class _Backlog(Collector):
    def __init__(self, backlog: Mapping[str, tuple[str, float]]) -> None:
        self.backlog = backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (documentation, value) in sorted(self.backlog.items()):
            yield GaugeMetricFamily(name, documentation, value=value)


def render_metrics(metrics: Metrics, backlog: Mapping[str, tuple[str, float]]) -> bytes:
    """The exposition text: the request metrics and business counters (of all workers in
    multiprocess mode, else of this process), then `backlog` gauges computed at scrape."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        parts = [generate_latest(registry)]
    else:
        parts = [generate_latest(metrics.registry), generate_latest(BUSINESS)]
    gauges = CollectorRegistry()
    gauges.register(_Backlog(backlog))
    return b"".join([*parts, generate_latest(gauges)])


class RequestContextMiddleware:
    """Gives each request an id (or keeps a safe incoming `X-Request-ID`), echoes it on
    the response, logs one access line and records metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here, with the request id; the client gets a bare 500 problem.
            logging.getLogger("creditdesk.errors").exception(
                "unhandled error on %s %s", scope["method"], scope["path"]
            )
            if not response_started:
                response = problem(
                    500, "internal_error", "An unexpected error occurred; it has been logged."
                )
                await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            if status == 402:
                INSUFFICIENT_CREDITS.labels(route).inc()
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            access_log.info(
                "%s %s %s", scope["method"], scope["path"], status,
                extra=_access_fields(scope, status, elapsed, route),
            )  # fmt: skip
            request_id_var.reset(token)


def _access_fields(scope: Scope, status: int, elapsed: float, route: str) -> dict[str, Any]:
    """The access line's fields: who asked what, and what came of it. `key_id` is the API
    key's id (never its secret), set by authentication in the request's state."""
    client = scope.get("client")
    state = scope.get("state") or {}
    principal = state.get("principal")
    return {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "client": client[0] if client else None,
        "key_id": state.get("key_id") or getattr(principal, "key_id", None),
        "duration_ms": round(elapsed * 1000, 2),
        "route": route,
    }


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every answer, and `Cache-Control: no-store` on
    API answers (`/v1/…`: some carry secrets, such as a new API key or a client secret),
    unless the endpoint set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope.get("path", "").startswith("/v1/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if api and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Reads the request body before the app sees it: over `max_bytes` answers 413, a body
    that does not arrive within `read_timeout` seconds (a stalled upload) answers 408,
    and text PostgreSQL cannot store (NUL, lone surrogates) anywhere in the path, query,
    headers or a JSON body answers 422 (`app.kit.inputs`)."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            if (where := unstorable(scope, b"")) is not None:
                await _unstorable(where)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        loop = asyncio.get_running_loop()
        deadline = None if self.read_timeout is None else loop.time() + self.read_timeout
        while more:
            try:
                if deadline is None:
                    message = await receive()
                else:
                    async with asyncio.timeout_at(deadline):  # no task per read, unlike wait_for
                        message = await receive()
            except TimeoutError:
                response = problem(
                    408, "request_timeout", "The request body did not arrive in time.",
                    headers={"Connection": "close"},
                )  # fmt: skip
                await response(scope, receive, send)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if (where := unstorable(scope, body)) is not None:
            await _unstorable(where)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "payload_too_large",
            f"The request body is larger than the limit of {self.max_bytes} bytes.",
        )
        await response(scope, receive, send)


def _unstorable(where: str) -> Response:
    detail = f"The request is invalid: {where}: text must be UTF-8 without NUL or lone surrogates"
    return problem(
        422, "validation_error", detail,
        errors=[{"field": where, "message": "not UTF-8, or contains NUL or a lone surrogate",
                 "type": "string_unstorable"}],
    )  # fmt: skip


def log_extra(**fields: Any) -> dict[str, Any]:
    return {"extra": fields}
