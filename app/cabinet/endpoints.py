"""Portal sessions over HTTP, and the cabinet's static files at `/cabinet/`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cabinet import messages, service
from app.cabinet.schemas import PortalSessionCreated
from app.kit.access import CustomerInReach, owned_guard
from app.kit.auth import ApiKey, Principal, Role, authenticate, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import NotFound, problem_responses
from app.kit.routing import TransactionalRoute, redact_from_idempotency_record
from app.kit.session import get_session
from app.settings import Settings

STATIC = FilePath(__file__).with_name("static")
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["cabinet"])
# Who mints portal sessions (create_portal_session) and may end them.
MINTERS = (Role.admin, Role.cr_agent, Role.integration)
SessionMinter = Annotated[Principal, Depends(require_roles(*MINTERS))]
SessionEnder = Annotated[Principal, Depends(require_roles(*MINTERS, Role.customer))]
# A portal session exists for a caller that reaches its customer (a long-lived key is none).
PortalSessionInReach = Annotated[
    str,
    Depends(
        owned_guard(
            select(ApiKey.customer_id).where(
                ApiKey.id == bindparam("session_id"),
                ApiKey.prefix.startswith(service.PORTAL_PREFIX),
                ApiKey.expires_at.is_not(None),
            ),
            {"session_id": "`key_…` of a portal session"},
            noun="portal session",
        )
    ),
]


@router.post(
    "/customers/{customer_id}/portal-sessions",
    status_code=201,
    response_model=PortalSessionCreated,
    responses=problem_responses(401, 403, 404),
)
async def create_portal_session(
    request: Request,
    principal: SessionMinter,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> PortalSessionCreated:
    """A short-lived customer-role token for the cabinet (default 1 h,
    `CREDITDESK_PORTAL_SESSION_MINUTES`), and the cabinet `url` to send the customer's
    browser to. The token is shown only here (an idempotent replay answers `token` and `url`
    as null); end it early with `DELETE /v1/portal-sessions/{id}`."""
    redact_from_idempotency_record(request, "token", "url")
    key, token = await service.create_portal_session(
        session,
        customer_id,
        now=now,
        lifetime=timedelta(minutes=settings.portal_session_minutes),
        minted_by=principal.key_id,
    )
    base = settings.cabinet_url or str(request.base_url).rstrip("/") + "/cabinet"
    assert key.expires_at is not None
    return PortalSessionCreated(
        id=key.id,
        customer_id=customer_id,
        url=service.cabinet_link(base, token, customer_id),
        token=token,
        expires_at=key.expires_at,
    )


@router.delete(
    "/portal-sessions/current",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 404),
)
async def end_current_portal_session(
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Response:
    """Sign out: revoke the portal session whose token sends this request. From then on
    the token is refused (401) everywhere. Any other key (not a portal session): 404."""
    key = await service.get_portal_session(session, principal.key_id)
    await service.revoke_portal_session(session, key, now=now)
    return Response(status_code=204)


@router.delete(
    "/portal-sessions/{session_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
async def revoke_portal_session(
    principal: SessionEnder,
    session_id: PortalSessionInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Response:
    """End a portal session early: a customer's key ends its own customer's sessions (any
    other customer's are 404), staff who mint sessions end any. Ending it again: 204."""
    key = await service.get_portal_session(session, session_id)
    await service.revoke_portal_session(session, key, now=now)
    return Response(status_code=204)


static_router = APIRouter(include_in_schema=False)
# The cabinet's files, read once: the package ships them, nothing else under /cabinet exists.
FILES = {
    path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
    for path in STATIC.iterdir()
    if path.suffix in MEDIA_TYPES
} | {name: (data, "application/json") for name, data in messages.files().items()}
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page's URL never leaves in a Referer
    "X-Frame-Options": "DENY",
}
# Stripe.js, its frames and its API, as Stripe documents for the Payment Element; allowed
# only when a publishable key is set.
STRIPE_SOURCES = {
    "script-src": ("https://js.stripe.com",),
    "frame-src": ("https://js.stripe.com", "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
}
NONE = "'none'"
LOCKED = f"base-uri {NONE}; form-action {NONE}; frame-ancestors {NONE}"


def content_security_policy(stripe: bool) -> str:
    """The cabinet's own files only: no inline script or style, no plug-ins, no `<base>`,
    no form posted anywhere, no framing by anyone; plus Stripe's hosts when it pays."""
    sources: dict[str, tuple[str, ...]] = {
        "default-src": (),
        "script-src": ("'self'",),
        "style-src": ("'self'",),
        "img-src": ("'self'",),
        "connect-src": ("'self'",),
        "frame-src": (),
    }
    for name, hosts in STRIPE_SOURCES.items() if stripe else ():
        sources[name] += hosts
    own = "; ".join(f"{name} {' '.join(hosts) or NONE}" for name, hosts in sources.items())
    return f"{own}; {LOCKED}"


def cabinet_headers(request: Request) -> dict[str, str]:
    settings: Settings = request.app.state.settings
    policy = content_security_policy(stripe=settings.stripe_publishable_key is not None)
    return {**SECURITY_HEADERS, "Content-Security-Policy": policy}


@static_router.get("/cabinet")
async def cabinet_root(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/cabinet/{query}", status_code=308, headers=cabinet_headers(request))


@static_router.get("/cabinet/config.json")
async def cabinet_config(request: Request) -> Response:
    """What the cabinet needs to know of the server: the payment provider and Stripe's
    publishable key."""
    settings: Settings = request.app.state.settings
    config = {
        "provider": settings.payment_provider,
        "stripe_publishable_key": settings.stripe_publishable_key,
        "currency": settings.currency,
    }
    return JSONResponse(config, headers=cabinet_headers(request))


@static_router.get("/cabinet/")
@static_router.get("/cabinet/{name}")
async def cabinet_file(request: Request, name: str = "index.html") -> Response:
    """The cabinet's static files (index.html, app.js, style.css, icon.svg) and its texts
    (`messages.<locale>.json`, from the catalogues: app.cabinet.messages)."""
    found = FILES.get(name)
    if found is None:
        raise NotFound("No such file.")
    content, media_type = found
    return Response(content, media_type=media_type, headers=cabinet_headers(request))
