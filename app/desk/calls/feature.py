"""Phone consultations (seed 000): logged per customer; they extend the customer's
tickets' targets and are counted in the SLA report through the clock's hook points."""

from app.desk.calls import models
from app.desk.calls.endpoints import router
from app.desk.calls.service import count_in_report, extend_by_calls
from app.desk.sla.hooks import EXTENSION_SPANS, REPORT_BUILT
from app.kit.hooks import Subscription
from app.kit.registry import Feature

FEATURE = Feature(
    name="desk.calls",
    routers=(router,),
    models=(models,),
    subscriptions=(
        Subscription(EXTENSION_SPANS, extend_by_calls),
        Subscription(REPORT_BUILT, count_in_report),
    ),
)
