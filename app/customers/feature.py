"""The customers feature: customers, API keys, caller verification."""

from app.customers import models
from app.customers.endpoints import router
from app.kit.registry import Feature

FEATURE = Feature(name="customers", routers=(router,), models=(models,))
