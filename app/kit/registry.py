"""What a feature plugs into the application, declared once per feature (`feature.py` in
its package) and listed once in `app.features.FEATURES`, which the composition root
(`app.main`, `app.cli`, `app.tasks`, `app.models`) iterates."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import click
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from app.kit.clock import Clock
from app.kit.db import Database
from app.kit.events import EventType
from app.kit.fastpath import FastPath
from app.kit.hooks import Subscription
from app.settings import Settings

# A periodic job of the server (`app.tasks`): idempotent, safe on several workers at once.
Job = Callable[[Database, Clock, Settings], Awaitable[None]]
# Objects a feature builds at start-up and closes at shutdown (e.g. the Stripe client).
Lifespan = Callable[[FastAPI, Settings], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class Feature:
    """One feature's plug points. Order inside each tuple is kept: routers are mounted,
    jobs run and subscriptions are connected in the order given."""

    name: str
    routers: tuple[APIRouter, ...] = ()
    # `creditdesk` sub-commands and groups (a click.Group is a click.Command)
    cli: tuple[click.Command, ...] = ()
    jobs: tuple[Job, ...] = ()
    # ORM model modules, so that Alembic and the drift test see the whole schema
    models: tuple[ModuleType, ...] = ()
    # reactions to other features' hook points, connected by `wire`
    subscriptions: tuple[Subscription[Any], ...] = ()
    lifespan: Lifespan | None = None
    # exact routes answered before routing, falling back to the route (app.kit.fastpath)
    fast_paths: tuple[FastPath, ...] = ()
    # the events it writes, each with the schema of its `data.object` (the OpenAPI
    # document's `webhooks` section is built from these)
    events: tuple[tuple[EventType, type[BaseModel]], ...] = ()


def routers(features: Sequence[Feature]) -> Iterator[APIRouter]:
    for feature in features:
        yield from feature.routers


def fast_paths(features: Sequence[Feature]) -> Iterator[FastPath]:
    for feature in features:
        yield from feature.fast_paths


def event_objects(features: Sequence[Feature]) -> dict[EventType, type[BaseModel]]:
    """Every event type the features write → the schema of its `data.object`."""
    found: dict[EventType, type[BaseModel]] = {}
    for feature in features:
        for event_type, model in feature.events:
            if event_type in found:
                raise RuntimeError(f"{event_type} is declared by two features")
            found[event_type] = model
    return found


def cli_commands(features: Sequence[Feature]) -> Iterator[click.Command]:
    for feature in features:
        yield from feature.cli


def jobs(features: Sequence[Feature]) -> Iterator[Job]:
    for feature in features:
        yield from feature.jobs


def wire(features: Sequence[Feature]) -> None:
    """Connects every declared subscription to its hook point (idempotent)."""
    for feature in features:
        for subscription in feature.subscriptions:
            subscription.hook.connect(subscription.handler, sql=subscription.sql)


@asynccontextmanager
async def lifespans(
    features: Sequence[Feature], app: FastAPI, settings: Settings
) -> AsyncIterator[None]:
    """Enters every feature's lifespan in order; leaves them in reverse order."""
    async with AsyncExitStack() as stack:
        for feature in features:
            if feature.lifespan is not None:
                await stack.enter_async_context(feature.lifespan(app, settings))
        yield
