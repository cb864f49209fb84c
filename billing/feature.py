"""Money: purchases, Stripe (its client lives for the app's lifespan), the webhook inbox."""

from app.kit.registry import Feature
from billing import models, runtime
from billing.cli import COMMANDS
from billing.endpoints import router

FEATURE = Feature(
    name="billing",
    routers=(router,),
    cli=tuple(COMMANDS),
    models=(models,),
    lifespan=runtime.lifespan,
)
