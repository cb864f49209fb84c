"""The staff console over HTTP: sessions, the queue, a customer's calls left today, and the
console's static files at `/console/` (with a strict Content-Security-Policy)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import service
from app.console.schemas import (
    CallAllowanceRead,
    ConsoleSessionCreated,
    ConsoleSessionRead,
    QueuePage,
)
from app.desk.models import Line, Status
from app.kit.access import CustomerInReach, ListScope
from app.kit.auth import BACK_OFFICE, STAFF, ApiKey, Principal, Role, authenticate, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import NotFound, problem_responses
from app.kit.pagination import Limit
from app.kit.routing import TransactionalRoute, redact_from_idempotency_record
from app.kit.session import get_session
from app.settings import Settings

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["console"])


async def _staff(principal: Principal = Depends(authenticate)) -> Principal:
    """Like `require_roles(*STAFF)`, with a message that says where a customer belongs."""
    service.refuse_non_staff(principal)
    return principal


_staff.required_roles = tuple(STAFF)  # type: ignore[attr-defined]  # read by app.kit.openapi
StaffMember = Annotated[Principal, Depends(_staff)]
CallReader = Annotated[Principal, Depends(require_roles(Role.customer, *STAFF, *BACK_OFFICE))]


def _read(key: ApiKey) -> ConsoleSessionRead:
    assert key.expires_at is not None
    return ConsoleSessionRead(
        id=key.id, role=Role(key.role), name=key.name, expires_at=key.expires_at
    )


@router.post(
    "/console-sessions",
    status_code=201,
    response_model=ConsoleSessionCreated,
    responses=problem_responses(401, 403),
)
async def create_console_session(
    request: Request,
    principal: StaffMember,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> ConsoleSessionCreated:
    """Sign in to the console with a staff key (admin, cr_agent, engineer): a short-lived
    token with the same role (default 8 h, `CREDITDESK_CONSOLE_SESSION_MINUTES`), so the
    long-lived key is not kept in the browser. Customer, integration and finance keys get
    403. The token is shown only here."""
    redact_from_idempotency_record(request, "token")
    key, token = await service.create_session(
        session, principal, now=now, lifetime=timedelta(minutes=settings.console_session_minutes)
    )
    return ConsoleSessionCreated(**_read(key).model_dump(), token=token)


@router.get(
    "/console-sessions/current",
    response_model=ConsoleSessionRead,
    responses=problem_responses(401, 403, 404),
)
async def read_console_session(
    principal: StaffMember, session: AsyncSession = Depends(get_session)
) -> ConsoleSessionRead:
    """Who the console session belongs to, its role and when it ends (404 for a key that is
    not a console session)."""
    return _read(await service.current_session(session, principal))


@router.delete(
    "/console-sessions/current",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
async def end_console_session(
    principal: StaffMember,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Response:
    """Sign out: revoke the console session whose token sends this request; from then on
    it gets 401 everywhere. A long-lived key is never revoked here: 404."""
    await service.end_session(session, principal, now)
    return Response(status_code=204)


@router.get("/queue", response_model=QueuePage, responses=problem_responses(401, 403, 404, 422))
async def read_queue(
    *,
    limit: Limit = 50,
    line: Line | None = None,
    status: Status | None = Query(
        default=None, description="one status; default: every status but resolved and closed"
    ),
    severity: int | None = Query(default=None, ge=1, le=4),
    assignee: str | None = Query(default=None, min_length=1, max_length=100),
    unassigned: bool = Query(default=False, description="only tickets nobody is assigned to"),
    scope: ListScope,
    partner: bool | None = Query(default=None, description="only partners' (or non-partners')"),
    partner_id: str | None = Query(
        default=None, max_length=40, description="a partner and its end customers"
    ),
    principal: StaffMember,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> QueuePage:
    """The desk's work queue: unfinished tickets ordered by their next service-level due
    time (overdue first), each with its `sla` block, its customer's name and which target
    falls due next."""
    return await service.queue(
        session, now=now, limit=limit, line=line, status=status, severity=severity,
        assignee=assignee, unassigned=unassigned, customer_id=scope.customer_id, partner=partner,
        partner_id=partner_id,
    )  # fmt: skip


@router.get(
    "/customers/{customer_id}/call-allowance",
    response_model=CallAllowanceRead,
    responses=problem_responses(401, 403, 404),
)
async def read_call_allowance(
    principal: CallReader,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> CallAllowanceRead:
    """Phone consultations logged today and how many the day still allows (seed 000: 3 a
    working day, each at most 15 minutes). A customer key reads its own."""
    return await service.call_allowance(session, customer_id, settings=settings, now=now)


# ---------------------------------------------------------------- static files

STATIC = FilePath(__file__).with_name("static")
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Read once: the package ships them, nothing else under /console exists.
FILES = {
    path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
    for path in STATIC.iterdir()
    if path.suffix in MEDIA_TYPES
}
# Only this server's own files and API; no inline script or style, no framing, no referrer.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

static_router = APIRouter(include_in_schema=False)


@static_router.get("/console")
async def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=308)


@static_router.get("/console/config.json")
async def console_config(request: Request) -> Response:
    """What the console needs to know of the server's settings to state an action's cost."""
    settings: Settings = request.app.state.settings
    body = {
        "change_hour_credits": settings.change_hour_credits,
        "portal_session_minutes": settings.portal_session_minutes,
    }
    return JSONResponse(body, headers=SECURITY_HEADERS)


@static_router.get("/console/")
@static_router.get("/console/{name}")
async def console_file(name: str = "index.html") -> Response:
    """The console's static files (index.html, style.css and its JavaScript modules)."""
    found = FILES.get(name)
    if found is None:
        raise NotFound("No such file.")
    content, media_type = found
    return Response(content, media_type=media_type, headers=SECURITY_HEADERS)
