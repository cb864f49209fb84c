"""Reports for support managers and finance: `GET /v1/reports/usage`."""

from app.kit.registry import Feature
from app.reports.endpoints import router

FEATURE = Feature(name="reports", routers=(router,))
