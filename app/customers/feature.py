"""The customers feature: customers, API keys, caller verification."""

from app.customers import models
from app.customers.cli import COMMANDS
from app.customers.endpoints import router
from app.kit.registry import Feature

FEATURE = Feature(name="customers", routers=(router,), cli=tuple(COMMANDS), models=(models,))
