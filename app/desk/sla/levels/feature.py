"""Contract levels (seeds 004, 001): target sets assigned to customers, read by the
service-level clock."""

from app.desk.sla.levels import models
from app.desk.sla.levels.endpoints import router
from app.kit.registry import Feature

FEATURE = Feature(name="desk.sla.levels", routers=(router,), models=(models,))
