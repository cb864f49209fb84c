"""Small-change hours (seed 001 §2.4): monthly allowance, work logs; the month's balance
is added to the ledger's balance answer through its hook point."""

from app.desk.changes import models
from app.desk.changes.endpoints import router
from app.desk.changes.service import add_to_balance
from app.kit.hooks import Subscription
from app.kit.registry import Feature
from credits.hooks import BALANCE_BUILT

FEATURE = Feature(
    name="desk.changes",
    routers=(router,),
    models=(models,),
    subscriptions=(Subscription(BALANCE_BUILT, add_to_balance),),
)
