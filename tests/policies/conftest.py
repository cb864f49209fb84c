"""Helpers for the support-policy tests (issue 16): the desk and service-level helpers."""

from __future__ import annotations

from tests.desk.conftest import desk
from tests.sla.conftest import sla

__all__ = ["desk", "sla"]
