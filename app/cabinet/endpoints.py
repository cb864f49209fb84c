"""Portal sessions over HTTP, and the cabinet's static files at `/cabinet`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path as FilePath

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession

from app.cabinet import service
from app.cabinet.schemas import PortalSessionCreated
from app.kit.auth import Principal, Role, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import problem_responses
from app.kit.routing import TransactionalRoute, redact_from_idempotency_record
from app.kit.session import get_session
from app.settings import Settings

STATIC = FilePath(__file__).with_name("static")

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["cabinet"])
CustomerId = Path(max_length=40, description="`cus_…`")


@router.post(
    "/customers/{customer_id}/portal-sessions",
    status_code=201,
    response_model=PortalSessionCreated,
    responses=problem_responses(401, 403, 404),
)
async def create_portal_session(
    request: Request,
    customer_id: str = CustomerId,
    principal: Principal = Depends(require_roles(Role.admin, Role.cr_agent, Role.integration)),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> PortalSessionCreated:
    """A short-lived customer-role token for the cabinet (default 1 h,
    `CREDITDESK_PORTAL_SESSION_MINUTES`), and the cabinet `url` to send the customer's
    browser to. The token is shown only here; revoke it early with `DELETE /v1/api-keys/{id}`."""
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


def mount_cabinet(app: FastAPI) -> None:
    """`/cabinet/` serves the static cabinet (index.html, its script and styles)."""

    @app.get("/cabinet/config.json", include_in_schema=False)
    async def cabinet_config(request: Request) -> dict[str, object]:
        settings: Settings = request.app.state.settings
        return {
            "provider": settings.payment_provider,
            "stripe_publishable_key": settings.stripe_publishable_key,
            "currency": settings.currency,
        }

    @app.get("/cabinet", include_in_schema=False)
    async def cabinet_root(request: Request) -> RedirectResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/cabinet/{query}", status_code=308)

    app.mount("/cabinet", StaticFiles(directory=STATIC, html=True), name="cabinet")
