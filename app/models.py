"""Every ORM model, imported once so that Alembic and the drift test see the whole schema:
the kit's own tables, then the model modules each feature declares (`app.features`)."""

from types import ModuleType

from app.features import FEATURES
from app.kit.auth import ApiKey
from app.kit.db import Base
from app.kit.events import Event
from app.kit.idempotency import IdempotencyRecord
from app.kit.ratelimit import RateLimitCounter

MODEL_MODULES: tuple[ModuleType, ...] = tuple(
    module for feature in FEATURES for module in feature.models
)

__all__ = ["MODEL_MODULES", "ApiKey", "Base", "Event", "IdempotencyRecord", "RateLimitCounter"]
