"""The product and version registry (seed 002); the desk reads it on technical
submissions."""

from app.kit.registry import Feature
from app.products import models
from app.products.endpoints import router

FEATURE = Feature(name="products", routers=(router,), models=(models,))
