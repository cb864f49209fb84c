"""The desk: tickets, messages, lines, transfers, merges. It publishes
`app.desk.hooks.MESSAGE_ADDED` for other channels to subscribe to."""

from app.desk import models
from app.desk.cli import COMMANDS
from app.desk.endpoints import router
from app.kit.registry import Feature

FEATURE = Feature(name="desk", routers=(router,), cli=tuple(COMMANDS), models=(models,))
