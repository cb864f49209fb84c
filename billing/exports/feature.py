"""Finance exports over HTTP and `creditdesk export …` (no tables of their own)."""

from app.kit.registry import Feature
from billing.exports.cli import COMMANDS
from billing.exports.endpoints import router

FEATURE = Feature(name="billing.exports", routers=(router,), cli=tuple(COMMANDS))
