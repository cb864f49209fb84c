"""`POST /v1/tickets` in one round trip (issue 19).

`try_submit` is the desk's fast path (app.kit.fastpath): it runs before routing, and
answers only when it can answer exactly as the route (`app.desk.endpoints.submit_ticket`,
the general path) would: it returns None — and the route runs — for anything off
the common path (bad input, an unknown key, a role that may not submit, a refused
subject, an unsupported version, a BALANCE_DROPPED subscriber whose SQL predicate the
function does not call, and whatever `desk_submit_ticket_v3` refuses: see
`app.desk.submit_sql`). So every error answer, every replay, every 402 comes from one
place, the ordinary handler, and the common case costs one statement.

What it needs besides the request, cached per process:
- **API keys** by the hash of their secret: id, role, customer and expiry (a key's role and
  customer never change). Revocation and expiry are checked again inside the call, so a
  revoked key is refused at once, by every process.
- **The desk's configuration** (`DeskConfig`): SLA calendars and targets, contract levels,
  products and versions, read in one transaction with the version they were read at. The
  call refuses an old version (a trigger bumps it on any change), the cache is reloaded and
  the request runs the ordinary handler once.

The response is built here as JSON around the three values only the database knows (the
number, the charge, which contract level's `sla` block) and completed by the call, which
stores the same bytes as the idempotent replay and as the events' `data.object`.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.desk import service
from app.desk.models import ChargeReason, ConfigVersion, Line, Status
from app.desk.schemas import ChargeRead, TicketCreate, TicketRead
from app.desk.sla import policy
from app.desk.sla import service as sla
from app.desk.sla.calendar import Calendar
from app.desk.sla.levels.models import ContractLevelTarget
from app.desk.sla.levels.service import LevelTargets, target_times
from app.desk.sla.models import SlaTarget
from app.desk.sla.schemas import Category
from app.desk.submit_sql import DROP_PREDICATES, FALLBACK_SQLSTATE, SUBMIT_TICKET_CALL
from app.kit import idempotency
from app.kit.auth import LAST_USED_RESOLUTION, ApiKey, Role, bearer_token, hash_secret
from app.kit.db import Database
from app.kit.errors import AppError
from app.kit.ids import new_ids
from app.kit.observability import FAST_SUBMITS, TICKET_SUBMISSIONS
from app.kit.routing import idempotency_scope
from app.products import repository as products_repo
from app.products import service as products
from app.products.models import Product, ProductVersion
from app.settings import Settings
from credits.hooks import BALANCE_DROPPED

# What asyncpg raises, before writing anything, on a connection the server has ended: a
# retry on a new connection cannot submit twice. (A connection lost during the call raises
# ConnectionDoesNotExistError, a PostgresError of class 08: maybe committed, so 503.)
_REFUSED_BEFORE_SENDING = (asyncpg.InternalClientError, asyncpg.InterfaceError)
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout: the Idempotency-Key's first request still runs
SUBMITTERS = frozenset({Role.customer, Role.cr_agent, Role.admin, Role.integration})
KEY_CACHE_SIZE = 10_000

# The two charges a new ticket can show, as the ordinary handler renders them.
_CHARGES = json.dumps(
    {
        "ticket": ChargeRead(
            credits=1, reason=ChargeReason.ticket, refunded=False, refund_reason=None
        ).model_dump_json(),
        "partner": ChargeRead(
            credits=0, reason=ChargeReason.partner, refunded=False, refund_reason=None
        ).model_dump_json(),
    }
)
_TAIL = 'null,"sla":null}'  # how a TicketRead without charge and sla ends


# ---------------------------------------------------------------- the caches


@dataclass(frozen=True, slots=True)
class CachedKey:
    id: str
    role: Role
    customer_id: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class DeskConfig:
    """What a submission reads that only an admin changes, as of `version`."""

    version: int
    calendars: dict[str, Calendar]
    targets: dict[tuple[str, int, str], policy.Targets]
    levels: dict[str, LevelTargets]
    products: dict[str, tuple[Product, list[ProductVersion]]]


async def load_config(session: AsyncSession) -> DeskConfig:
    """Everything `DeskConfig` holds, the version first: a change committed between the
    reads makes the version read older than the data, which the call then refuses."""
    version = (
        await session.execute(select(ConfigVersion.version).where(ConfigVersion.name == "desk"))
    ).scalar_one_or_none() or 0  # no row: version 0 (the function reads it alike)
    calendars = {line.value: (await sla.line_calendar(session, line))[0] for line in Line}
    targets = {
        (t.line, t.severity, t.category): sla.stored_targets(t)
        for t in (await session.execute(select(SlaTarget))).scalars()
    }
    levels: dict[str, LevelTargets] = {}
    for lt in (await session.execute(select(ContractLevelTarget))).scalars():
        levels.setdefault(lt.level_id, {})[(lt.severity, lt.category)] = target_times(lt)
    found = list((await session.execute(select(Product))).scalars())
    versions = await products_repo.versions(session, [p.id for p in found])
    catalogue = {p.name_key: (p, [v for v in versions if v.product_id == p.id]) for p in found}
    return DeskConfig(version, calendars, targets, levels, catalogue)


class FastSubmit:
    """One per app (per process): the caches and the call."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.keys: OrderedDict[str, CachedKey] = OrderedDict()
        self.config: DeskConfig | None = None
        self._loading = asyncio.Lock()

    async def desk_config(self) -> DeskConfig:
        config = self.config
        if config is not None:
            return config
        async with self._loading:
            if self.config is None:
                async with self.db.sessionmaker() as session, session.begin():
                    self.config = await load_config(session)
            return self.config

    async def key(self, conn: Any, secret_hash: str) -> CachedKey | None:
        found = self.keys.get(secret_hash)
        if found is not None:
            self.keys.move_to_end(secret_hash)
            return found
        row = await conn.fetchrow(_KEY_BY_HASH, secret_hash)
        if row is None or row["revoked_at"] is not None:
            return None
        found = CachedKey(row["id"], Role(row["role"]), row["customer_id"], row["expires_at"])
        self.keys[secret_hash] = found
        if len(self.keys) > KEY_CACHE_SIZE:
            self.keys.popitem(last=False)
        return found


_KEY_BY_HASH = (
    f"SELECT id, role, customer_id, expires_at, revoked_at FROM {ApiKey.__tablename__} "
    "WHERE secret_hash = $1"
)


@asynccontextmanager
async def lifespan(app: FastAPI, _settings: Settings) -> AsyncIterator[None]:
    """The caches live as long as the app's database (the desk feature's lifespan)."""
    app.state.fast_submit = FastSubmit(app.state.db)
    yield


# ---------------------------------------------------------------- the request


async def try_submit(request: Request) -> Response | None:
    """The submission in one call, or None: the ordinary handler answers (module docstring)."""
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    if not settings.fast_submit:
        return None
    if not subscribers_known():
        FAST_SUBMITS.labels("subscribers").inc()
        return None
    token = bearer_token(request)
    if token is None:
        return None
    body = await request.body()
    try:
        data = TicketCreate.model_validate_json(body)
    except ValidationError:
        return None
    idem_key = request.headers.get("idempotency-key")
    if idem_key is not None and not 1 <= len(idem_key) <= 255:
        return None
    now: datetime = request.app.state.clock.now()
    fast: FastSubmit = request.app.state.fast_submit
    config = await fast.desk_config()  # before the connection: a reload takes one itself
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    claim = (
        (idempotency_scope(token), idem_key,
         idempotency.request_fingerprint(request.method, target, body))
        if idem_key is not None else None
    )  # fmt: skip
    async with db.admitted():  # the pool's queue, in arrival order
        answer = await _call(db, fast, config, token, data, settings, now, claim)
    if answer is None:
        return None
    if isinstance(answer, Handover):
        FAST_SUBMITS.labels(answer.reason).inc()
        if answer.reason == "config":
            fast.config = None
        elif answer.reason == "key":
            fast.keys.clear()
        return None
    TICKET_SUBMISSIONS.labels(data.line.value).inc()
    FAST_SUBMITS.labels("answered").inc()
    if (cached := fast.keys.get(hash_secret(token))) is not None:
        request.state.key_id = cached.id  # for the access log
    return Response(content=answer, status_code=201, media_type="application/json")


def subscribers_known() -> bool:
    """Whether every BALANCE_DROPPED subscriber has a SQL predicate the function calls: a
    debit in the function must never skip one (it hands over when a predicate says the
    debit concerns its subscriber; the general path publishes the hook in Python)."""
    predicates = BALANCE_DROPPED.sql_predicates()
    return predicates is not None and predicates <= _KNOWN_PREDICATES


_KNOWN_PREDICATES = frozenset(DROP_PREDICATES)


async def _call(
    db: Database,
    fast: FastSubmit,
    config: DeskConfig,
    token: str,
    data: TicketCreate,
    settings: Settings,
    now: datetime,
    claim: tuple[str, str, str] | None,
) -> str | Handover | None:
    """The call on a pooled connection, retried once on a new one if the server had ended
    the first before anything was sent; None for a key it does not know (the route
    answers)."""
    for attempt in (1, 2):
        raw = await db.engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert conn is not None  # a checked-out connection has its driver's
            key = await fast.key(conn, hash_secret(token))
            if key is None:
                return None
            answer = await submit(conn, config, key, data, settings, now, idempotency=claim)
            break
        except _REFUSED_BEFORE_SENDING:
            # The server ended this pooled connection (a restart, a terminated backend) and
            # the driver refused to use it: nothing was sent. The pool's other connections
            # went with it, as the general path assumes on a disconnect: drop them all and
            # try once more on a new one.
            raw.invalidate()
            await db.engine.dispose(close=False)
            if attempt == 2:  # the database is going away: 503, retry later
                raise ConnectionError("the database ended the connection") from None
        except BaseException:
            raw.invalidate()  # its state is unknown: never hand it to the next request
            raise
        finally:
            raw.close()
    return answer


@dataclass(frozen=True, slots=True)
class Handover:
    """The general path must answer: `reason` says why (`refused`: before the call, by
    the same rules the route applies; else the function's reason, or `in_flight`)."""

    reason: str


async def submit(
    conn: Any,
    config: DeskConfig,
    key: CachedKey,
    data: TicketCreate,
    settings: Settings,
    now: datetime,
    *,
    idempotency: tuple[str, str, str] | None = None,
) -> str | Handover:
    """One submission on an asyncpg connection outside any transaction: the response's
    JSON, committed, or a `Handover` with nothing changed. `idempotency`: the key's scope,
    the key and the request's fingerprint."""
    args = _arguments(config, key, data, settings, now)
    if args is None:
        return Handover("refused")
    if idempotency is not None:
        args["idem_scope"], args["idem_key"], args["idem_hash"] = idempotency
    try:
        text: str = await conn.fetchval(SUBMIT_TICKET_CALL, *args.values())
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == LOCK_NOT_AVAILABLE:  # a duplicate in flight: the route waits
            return Handover("in_flight")
        if exc.sqlstate != FALLBACK_SQLSTATE:
            raise
        return Handover(str(getattr(exc, "message", "") or exc))
    return text


def _arguments(
    config: DeskConfig, key: CachedKey, data: TicketCreate, settings: Settings, now: datetime
) -> dict[str, Any] | None:
    """The call's arguments in its parameter order, or None for the ordinary handler."""
    if key.role not in SUBMITTERS or (key.expires_at is not None and key.expires_at <= now):
        return None
    partner_id = None
    if key.role is Role.customer:
        if data.customer_id not in (None, key.customer_id):
            return None
        customer_id = key.customer_id
    else:
        customer_id = data.customer_id
        if key.role is Role.integration and key.customer_id is not None:
            partner_id = key.customer_id
    if customer_id is None:
        return None
    try:
        subject, body = service.validate_submission(data.subject, data.body, settings)
    except AppError:
        return None
    if data.line is Line.technical and data.product is not None and data.version is not None:
        registered = config.products.get(products_repo.name_key(data.product))
        if registered is not None:
            try:
                products.check_version(
                    *registered, data.version, now=now, days=settings.version_support_days
                )
            except AppError:
                return None
    ticket_id, message_id, entry_id, created_id, charged_id = new_ids(
        "tkt", "msg", "ent", "evt", "evt"
    )
    head, mid = _template(ticket_id, customer_id, data, subject, body, now)
    window = settings.duplicate_window_minutes
    return {
        "now": now,
        "key_id": key.id,
        "key_refresh_before": now - LAST_USED_RESOLUTION,
        "partner_id": partner_id,
        "idem_scope": None,
        "idem_key": None,
        "idem_hash": None,
        "config_version": config.version,
        "customer_id": customer_id,
        "ticket_id": ticket_id,
        "message_id": message_id,
        "entry_id": entry_id,
        "created_event_id": created_id,
        "charged_event_id": charged_id,
        "line": data.line.value,
        "severity": data.severity,
        "product": data.product,
        "version": data.version.strip() if data.version else None,
        "subject": subject,
        "body": body,
        "content_hash": service.content_hash(subject, body),
        "metadata": json.dumps(data.metadata) if data.metadata else None,
        "author_role": key.role.value,
        "category": data.category.value,
        "duplicate_since": now - timedelta(minutes=window) if window > 0 else None,
        "head": head,
        "mid": mid,
        "charges": _CHARGES,
        "sla": json.dumps(_sla_blocks(config, data.line, data.severity, data.category, now)),
    }


def _template(
    ticket_id: str, customer_id: str, data: TicketCreate, subject: str, body: str, now: datetime
) -> tuple[str, str]:
    """The ticket as `TicketRead` renders it, cut around `number` and `charge`."""
    rendered = TicketRead(
        id=ticket_id, number=0, customer_id=customer_id, line=data.line,
        status=Status.open, severity=data.severity, product=data.product,
        version=data.version.strip() if data.version else None, subject=subject, body=body,
        bug_reference=None, merged_into=None, metadata=dict(data.metadata or {}),
        created_at=now, updated_at=now, charge=None, sla=None,
    ).model_dump_json()  # fmt: skip
    head = f'{{"id":{json.dumps(ticket_id)},"number":'
    if not rendered.startswith(head + "0,") or not rendered.endswith(_TAIL):
        raise AssertionError("TicketRead no longer renders id, number first, charge, sla last")
    return head, rendered[len(head) + 1 : -len(_TAIL)]


def _sla_blocks(
    config: DeskConfig, line: Line, severity: int, category: Category, now: datetime
) -> dict[str, str]:
    """The new ticket's `sla` block for a customer without a contract level (key "") and
    for each level with its own targets for this severity and category."""
    if severity == 1:
        cal, cal_name = policy.ALWAYS_OPEN, "24/7"
    else:
        cal, cal_name = config.calendars[line.value], line.value
    line_targets = config.targets.get((line.value, severity, category.value))
    if line_targets is None:
        line_targets = policy.default_targets(line, severity, category)

    def render(level: LevelTargets) -> str:
        targets = sla.with_level(line_targets, level, severity, category.value)
        return sla.new_block(category, cal, cal_name, targets, now).model_dump_json()

    blocks = {"": render({})}
    for level_id, level in config.levels.items():
        if (severity, category.value) in level:
            blocks[level_id] = render(level)
    return blocks
