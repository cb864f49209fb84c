"""The product and version registry over HTTP: admins register products and versions with
their release dates; every authenticated key may read them (the cabinet's ticket form
offers `supported_versions`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.auth import Admin, Principal, authenticate
from app.kit.deps import get_now, get_settings
from app.kit.errors import problem_responses
from app.kit.pagination import Page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.products import service
from app.products.schemas import ProductCreate, ProductRead, VersionCreate
from app.settings import Settings

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["products"])
ProductId = Annotated[str, Path(max_length=40, description="`prd_…`")]


@router.post(
    "/products",
    status_code=201,
    response_model=ProductRead,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_product(
    body: ProductCreate,
    _: Admin,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ProductRead:
    """Register a product (admin). Its name is what tickets carry in `product`, compared
    without regard to case (409 `product_exists` when taken)."""
    return await service.create_product(session, body, now)


@router.get("/products", response_model=Page[ProductRead], responses=problem_responses(401))
async def list_products(
    _: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> Page[ProductRead]:
    """Every registered product with its versions and which of them are supported today
    (any key: the cabinet's ticket form reads it). One page: the registry is small."""
    data = await service.list_products(session, now=now, days=settings.version_support_days)
    return Page(data=data)


@router.get(
    "/products/{product_id}", response_model=ProductRead, responses=problem_responses(401, 404)
)
async def get_product(
    product_id: ProductId,
    _: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> ProductRead:
    """A product, its versions and their support window."""
    return await service.read_product(
        session, product_id, now=now, days=settings.version_support_days
    )


@router.post(
    "/products/{product_id}/versions",
    status_code=201,
    response_model=ProductRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def add_version(
    body: VersionCreate,
    product_id: ProductId,
    _: Admin,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> ProductRead:
    """Register a version and its release date (admin; 409 `version_exists`). Its release
    starts the support window of the version before it."""
    return await service.add_version(
        session, product_id, body, now=now, days=settings.version_support_days
    )
