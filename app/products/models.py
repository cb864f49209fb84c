"""ORM models of the product and version registry (imported by app.models); schema:
migration 0012. Seed 002: a product's current version is supported, the previous one for
180 days after the next release."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import UTCDateTime


class Product(Base):
    """A product customers name on tickets (`ticket.product`, compared case-insensitively
    through `name_key`)."""

    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProductVersion(Base):
    """A released (or announced) version of a product and its release date."""

    __tablename__ = "product_versions"
    __table_args__ = (
        Index("ix_product_versions_product_version", "product_id", "version", unique=True),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(40), ForeignKey("products.id"))
    version: Mapped[str] = mapped_column(String(50))
    released_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
