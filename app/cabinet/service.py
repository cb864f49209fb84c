"""Portal sessions: short-lived customer credentials for a browser cabinet.

A session is an `api_keys` row with the customer role, bound to one customer, with an
`expires_at`: it authenticates through the same code as any API key (only the SHA-256 of
the token is stored) and stops working when it expires or is revoked."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import service as customers
from app.kit.auth import ApiKey, Role, hash_secret
from app.kit.errors import NotFound
from app.kit.ids import new_id

PORTAL_PREFIX = "cdp_"


async def create_portal_session(
    session: AsyncSession, customer_id: str, *, now: datetime, lifetime: timedelta, minted_by: str
) -> tuple[ApiKey, str]:
    await customers.get_customer(session, customer_id)
    token = PORTAL_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        name=f"portal session (by {minted_by})",
        role=Role.customer.value,
        customer_id=customer_id,
        prefix=token[: len(PORTAL_PREFIX) + 6],
        secret_hash=hash_secret(token),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(key)
    await session.flush()
    return key, token


def is_portal_session(key: ApiKey) -> bool:
    return key.prefix.startswith(PORTAL_PREFIX) and key.expires_at is not None


async def get_portal_session(session: AsyncSession, session_id: str) -> ApiKey:
    """A portal session by id; any other key (a long-lived API key) is not one: 404."""
    key = await session.get(ApiKey, session_id)
    if key is None or not is_portal_session(key):
        raise NotFound("No such portal session.")
    return key


async def revoke_portal_session(session: AsyncSession, key: ApiKey, *, now: datetime) -> None:
    """Ends the session at once (every later request with its token is 401); revoking an
    ended session again changes nothing."""
    if key.revoked_at is None:
        key.revoked_at = now
        await session.flush()


def cabinet_link(base: str, token: str, customer_id: str) -> str:
    """The token travels in the fragment: browsers never send it to a server or a log."""
    return f"{base.rstrip('/')}/#token={token}&customer={customer_id}"
