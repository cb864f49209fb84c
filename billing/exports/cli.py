"""`creditdesk` sub-commands of the finance exports (registered by app.cli)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
