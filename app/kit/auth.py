"""API keys → Principal. Keys are high-entropy secrets; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import ForeignKey, String, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.errors import Forbidden, Unauthenticated
from app.kit.session import get_session
from app.kit.types import UTCDateTime

KEY_PREFIX = "cdk_"
LAST_USED_RESOLUTION = timedelta(seconds=60)


class Role(StrEnum):
    admin = "admin"
    finance = "finance"
    cr_agent = "cr_agent"
    engineer = "engineer"
    integration = "integration"
    customer = "customer"


# People who work tickets; finance and integration are back-office machines and people.
STAFF = frozenset({Role.admin, Role.cr_agent, Role.engineer})
BACK_OFFICE = frozenset({Role.finance, Role.integration})


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("customers.id"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set on portal sessions (short-lived customer credentials for the cabinet).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A console session's staff key: revoking that key revokes the session (migration 0016).
    parent_key_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("api_keys.id"), index=True
    )

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    customer_id: str | None
    # A scoped integration key (a partner's): the partner and its end customers, the only
    # customers it sees. None: no such restriction (customer keys: `customer_id`).
    scope: frozenset[str] | None = None

    @property
    def is_customer(self) -> bool:
        return self.role is Role.customer

    @property
    def partner_id(self) -> str | None:
        """The partner a scoped integration key acts for."""
        return self.customer_id if self.role is Role.integration else None

    @property
    def reaches_all(self) -> bool:
        """Every customer is in reach (what it may do with them is its role's matter)."""
        return not self.is_customer and self.scope is None

    def sees(self, customer_id: str | None) -> bool:
        """THE reach rule: a customer key (or cabinet session) reaches its own customer
        only, a partner's scoped key the partner and its end customers, any other key
        every customer. Routes apply it through `app.kit.access`, never by hand."""
        if self.is_customer:
            return customer_id == self.customer_id
        if self.scope is not None:
            return customer_id in self.scope
        return True

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"The {self.role.value} role may not do this.")


def generate_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def ensure_active_token(request: Request, session: AsyncSession, token: str) -> None:
    """Refuses an unknown or revoked key before anything is replayed to it. The key's row,
    read in the request's transaction, is kept for `authenticate` (one lookup, not two)."""
    key = await key_for(session, token)
    if key is None or not key.usable(request.app.state.clock.now()):
        raise Unauthenticated(
            "The API key is unknown, revoked or expired.", headers={"WWW-Authenticate": "Bearer"}
        )
    request.state.api_key = key


# Built once: a statement object caches its compiled form (the hot path builds none).
_KEY_BY_HASH = select(ApiKey).where(ApiKey.secret_hash == bindparam("secret_hash"))


async def key_for(session: AsyncSession, token: str) -> ApiKey | None:
    """The key whose secret is `token`, usable or not (None when there is none)."""
    found = await session.execute(_KEY_BY_HASH, {"secret_hash": hash_secret(token)})
    return found.scalar_one_or_none()


async def authenticate(request: Request, session: AsyncSession = Depends(get_session)) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated(
            "Send an API key as `Authorization: Bearer <key>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key: ApiKey | None = getattr(request.state, "api_key", None)
    if key is None or key.secret_hash != hash_secret(token):
        key = await key_for(session, token)
    now = request.app.state.clock.now()
    if key is None or not key.usable(now):
        raise Unauthenticated(
            "The API key is unknown, revoked or expired.", headers={"WWW-Authenticate": "Bearer"}
        )
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # Recorded once a minute at most: a hot key must not serialise on its own row.
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .where(
                or_(
                    ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - LAST_USED_RESOLUTION
                )
            )
            .values(last_used_at=now)
        )
    scope = None
    if key.role == Role.integration and key.customer_id is not None:
        scope = await partner_scope(session, key.customer_id)
    principal = Principal(
        key_id=key.id, role=Role(key.role), customer_id=key.customer_id, scope=scope
    )
    request.state.principal = principal
    return principal


_SCOPE = text("SELECT id FROM customers WHERE id = :partner OR parent_id = :partner")


async def partner_scope(session: AsyncSession, partner_id: str) -> frozenset[str]:
    """A partner and its end customers (`customers.parent_id`)."""
    return frozenset((await session.execute(_SCOPE, {"partner": partner_id})).scalars())


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency: the caller must hold one of `roles`."""

    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        principal.require(*roles)
        return principal

    dependency.required_roles = roles  # type: ignore[attr-defined]  # read by app.kit.openapi
    return dependency


# The callers an endpoint accepts, as parameter types (`principal: Staff`). A feature
# defines its own next to its role sets, from `require_roles`, once.
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
StaffOrBackOffice = Annotated[Principal, Depends(require_roles(*STAFF, *BACK_OFFICE))]
IntegrationOrAdmin = Annotated[Principal, Depends(require_roles(Role.integration, Role.admin))]
