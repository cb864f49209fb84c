"""Reports for support managers and finance.

The caller's key is checked in the request's transaction on the primary; the report itself
is read from the read replica when one is configured (`Database.read_session`), in a
read-only transaction of its own: a report may miss the last seconds of activity."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.kit.auth import Principal, Role, require_roles
from app.kit.db import Database
from app.kit.deps import get_settings
from app.kit.errors import problem_responses
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.reports import service
from app.reports.schemas import UsageReport
from app.settings import Settings
from billing.exports.periods import parse_period

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["reports"])

From = Annotated[
    str | None,
    Query(alias="from", max_length=40, description="start, inclusive: `2026-11-01` or RFC 3339"),
]
To = Annotated[
    str | None, Query(max_length=40, description="end, exclusive: `2026-12-01` or RFC 3339")
]


@router.get(
    "/reports/usage",
    response_model=UsageReport,
    responses={
        **problem_responses(401, 403, 422),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
)
async def usage_report(
    request: Request,
    from_: From = None,
    to: To = None,
    format: Literal["json", "csv"] = Query(default="json"),
    _: Principal = Depends(require_roles(Role.finance, Role.admin, Role.cr_agent)),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response | UsageReport:
    """Support usage for `[from, to)`: per customer and line, tickets opened, credits
    charged, credits refunded by reason, partners' tickets with the credits they would
    have cost, and totals (finance, admin, cr_agent). Credits are the journal's own sums."""
    period = parse_period(from_, to, max_days=settings.export_max_days)
    db: Database = request.app.state.db
    async with db.read_session(session) as reading:
        report = await service.usage_report(reading, period)
    if format == "csv":
        return Response(
            service.usage_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="usage_{period.slug()}.csv"'},
        )
    return report
