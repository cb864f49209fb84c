"""Money: purchases, Stripe (its client lives for the app's lifespan), the webhook inbox."""

from app.kit.events import EventType
from app.kit.registry import Feature
from billing import models, runtime
from billing.cli import COMMANDS
from billing.endpoints import router
from billing.schemas import PurchaseRead

FEATURE = Feature(
    name="billing",
    routers=(router,),
    cli=tuple(COMMANDS),
    models=(models,),
    lifespan=runtime.lifespan,
    # purchase objects in events never carry the payment's `client_secret` (null)
    events=tuple(
        (t, PurchaseRead)
        for t in (
            EventType.purchase_succeeded,
            EventType.purchase_failed,
            EventType.purchase_refunded,
        )
    ),
)
