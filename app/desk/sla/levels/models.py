"""ORM models of contract levels (imported by app.models); schema: migration 0012.

Seed 004 §4: "the response time depends on the level of technical support set in the
contract"; seed 001 §4.2 gives one contract's times. A level is a named set of targets per
severity and category; a customer is assigned at most one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.db import Base
from app.kit.types import UTCDateTime


class ContractLevel(Base):
    __tablename__ = "contract_levels"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContractLevelTarget(Base):
    """A level's targets for one severity and category, in working minutes; what a level
    leaves out falls back to the line's targets."""

    __tablename__ = "contract_level_targets"

    level_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("contract_levels.id"), primary_key=True
    )
    severity: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class CustomerContractLevel(Base):
    """Which level a customer's contract has (no row: the line's targets)."""

    __tablename__ = "customer_contract_levels"

    customer_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("customers.id"), primary_key=True
    )
    level_id: Mapped[str] = mapped_column(String(40), ForeignKey("contract_levels.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
