"""Which customers a caller may reach, applied alike on every route (issue 25).

The rule is `Principal.sees`: a customer key or cabinet session reaches its own customer
only; a partner's scoped integration key the partner and its end customers (read once per
request, in `authenticate`); any other key every customer, limited by its role. What is out
of reach does not exist for the caller: 404 `not_found`, the very answer a nonexistent id
gets, and nothing changes.

Handlers do not apply the rule by hand (three forgot it). Each value of a request that
names a customer, or something a customer owns, is resolved by a dependency built here,
which hands the handler the id it checked:
- `CustomerInReach`: path `{customer_id}` (`customer_guard(authenticate_apart)` on a route
  that runs its own transactions);
- `owned_guard(...)`: path ids of what a customer owns (a ticket, a purchase, …), whose
  owner it reads in one small query (none for a caller that reaches every customer);
- `body_customer_guard(Model)`: a body's `customer_id`;
- `ListScope` / `CallerScope`: a list's `?customer_id=` filter, and the caller's reach for
  a list without one;
- `EveryCustomer`: a route whose request, not its caller, picks the customer.
Each carries `reach_covers`, the request values it resolves: tests/test_access_rule.py
reads them from the app's route table and fails a route that names a customer without."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from app.kit.auth import Principal, authenticate
from app.kit.db import Database
from app.kit.deps import CustomerId
from app.kit.errors import Forbidden, NotFound
from app.kit.session import get_session

COVERS = "reach_covers"
_Guard = TypeVar("_Guard", bound=Callable[..., Any])
PrincipalDependency = Callable[..., Awaitable[Principal]]
# Who may reach an object, given its owner (a customer id, or None).
OwnerRule = Callable[[Principal, str | None], bool]


def covers(call: object) -> frozenset[str]:
    """The request values a dependency resolves through the rule (`path:ticket_id`, …)."""
    found: frozenset[str] = getattr(call, COVERS, frozenset())
    return found


def _marked(guard: _Guard, *values: str) -> _Guard:
    setattr(guard, COVERS, frozenset(values))
    return guard


def require_reach(principal: Principal, customer_id: str, noun: str = "customer") -> str:
    """`customer_id` if the caller reaches it; else 404, as for one that does not exist."""
    if not principal.sees(customer_id):
        raise NotFound(f"No such {noun}.")
    return customer_id


async def authenticate_apart(request: Request) -> Principal:
    """The caller, for a route that runs its own transactions (it calls Stripe between two,
    or streams past the request): checked in a short transaction of its own."""
    db: Database = request.app.state.db
    async with db.sessionmaker() as session, session.begin():
        return await authenticate(request, session)


def customer_guard(principal: PrincipalDependency = authenticate) -> Callable[..., Awaitable[str]]:
    """Path `{customer_id}`, resolved for the caller `principal` gives."""

    async def customer_in_reach(
        customer_id: CustomerId, caller: Principal = Depends(principal)
    ) -> str:
        return require_reach(caller, customer_id)

    return _marked(customer_in_reach, "path:customer_id")


CustomerInReach = Annotated[str, Depends(customer_guard())]


def _sees(principal: Principal, owner: str | None) -> bool:
    return principal.sees(owner)


def owned_guard(
    owner: Executable,
    params: Mapping[str, str],
    *,
    noun: str,
    rule: OwnerRule | None = None,
) -> Callable[..., Awaitable[str]]:
    """Path ids of something a customer owns. `owner` selects its owner (one column) with
    a bind parameter per path parameter (`params`: name → description); the last id is
    handed on. `rule` stands for the reach rule where an owner is not a customer's reach
    (webhook endpoints belong to the partner whose key made them)."""
    names = list(params)
    allowed = rule or _sees

    async def guard(**values: Any) -> str:
        caller: Principal = values.pop("caller")
        session: AsyncSession = values.pop("session")
        if rule is None and caller.reaches_all:
            return str(values[names[-1]])  # no query: the handler finds the object, or 404s
        row = (await session.execute(owner, values)).first()
        if row is None or not allowed(caller, row[0]):
            raise NotFound(f"No such {noun}.")
        return str(values[names[-1]])

    keyword = inspect.Parameter.KEYWORD_ONLY
    path = [
        inspect.Parameter(
            name, keyword, annotation=Annotated[str, Path(max_length=40, description=d)]
        )
        for name, d in params.items()
    ]
    found = [
        inspect.Parameter("caller", keyword, annotation=Principal, default=Depends(authenticate)),
        inspect.Parameter(
            "session", keyword, annotation=AsyncSession, default=Depends(get_session)
        ),
    ]
    guard.__signature__ = inspect.Signature([*path, *found], return_annotation=str)  # type: ignore[attr-defined]
    guard.__name__ = guard.__qualname__ = f"{noun.replace(' ', '_')}_in_reach"
    return _marked(guard, *(f"path:{name}" for name in names))


def body_customer_guard(model: type[BaseModel]) -> Callable[..., Awaitable[str | None]]:
    """A body's `customer_id`, if given and in reach. The route's body parameter must be
    `body: model` too: FastAPI then reads and validates the body once, for both."""

    async def body_customer_in_reach(**values: Any) -> str | None:
        customer_id: str | None = values["body"].customer_id
        return None if customer_id is None else require_reach(values["caller"], customer_id)

    keyword = inspect.Parameter.KEYWORD_ONLY
    body_customer_in_reach.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("body", keyword, annotation=model),
            inspect.Parameter(
                "caller", keyword, annotation=Principal, default=Depends(authenticate)
            ),
        ],
        return_annotation=str | None,
    )
    return _marked(body_customer_in_reach, "body:customer_id")


@dataclass(frozen=True, slots=True)
class Scope:
    """What a list may show its caller: one customer's rows (`customer_id`: a customer
    key's own, or the filter asked for, in reach), the rows of a partner's tree
    (`partner_id`), or everything (both None)."""

    customer_id: str | None
    partner_id: str | None


async def list_scope(
    customer_id: str | None = None, caller: Principal = Depends(authenticate)
) -> Scope:
    """The `?customer_id=` filter, if in reach; without it, the caller's reach."""
    if customer_id is not None:
        require_reach(caller, customer_id)
    elif caller.is_customer:
        customer_id = caller.customer_id
    return Scope(customer_id, caller.partner_id)


async def caller_scope(caller: Principal = Depends(authenticate)) -> Scope:
    """The caller's reach, for a list that takes no customer filter."""
    return Scope(caller.customer_id if caller.is_customer else None, caller.partner_id)


ListScope = Annotated[Scope, Depends(_marked(list_scope, "query:customer_id", "list"))]
CallerScope = Annotated[Scope, Depends(_marked(caller_scope, "list"))]


async def every_customer(caller: Principal = Depends(authenticate)) -> Principal:
    """For a route whose request, not its caller, picks the customer (the mail relay: the
    sender's address): only a key that reaches every customer may call it."""
    if not caller.reaches_all:
        raise Forbidden("This key reaches only some customers; it may not do this.")
    return caller


EveryCustomer = Annotated[Principal, Depends(_marked(every_customer, "all"))]
