"""Payment-provider objects built in the app's lifespan (never at import)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from app.settings import Settings
from billing.stripe_client import StripeGateway, build_gateway

logger = logging.getLogger("creditdesk.billing")


@asynccontextmanager
async def lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    gateway = build_gateway(settings)
    app.state.payments = gateway
    if gateway is None:
        logger.warning("no CREDITDESK_STRIPE_SECRET_KEY: purchases use the offline test provider")
    try:
        yield
    finally:
        app.state.payments = None
        if gateway is not None:
            await gateway.aclose()


def get_gateway(request: Request) -> StripeGateway | None:
    gateway: StripeGateway | None = getattr(request.app.state, "payments", None)
    return gateway
