"""Expected completion of planned tasks (seed 000); late ones are flagged in the SLA
report through its hook point."""

from app.desk.plans import models
from app.desk.plans.endpoints import router
from app.desk.plans.service import late_in_report
from app.desk.sla.hooks import REPORT_BUILT
from app.kit.hooks import Subscription
from app.kit.registry import Feature

FEATURE = Feature(
    name="desk.plans",
    routers=(router,),
    models=(models,),
    subscriptions=(Subscription(REPORT_BUILT, late_in_report),),
)
