"""The OpenAPI document, made to say exactly what the server does.

FastAPI describes what each endpoint declares; this module adds, for every operation,
what the shared machinery answers whatever the endpoint (so endpoints added later get it
too):
- operation ids are the endpoint functions' names (`submit_ticket`, not FastAPI's
  `submit_ticket_v1_tickets_post`);
- every error is `application/problem+json`, with a schema per error: `ValidationProblem`
  (422, with `errors`) instead of FastAPI's `HTTPValidationError`, the problem classes that
  `problem_responses()` names (402 `InsufficientCreditsProblem`, 409
  `DuplicateTicketProblem`, …), `Problem` for the rest;
- 401 where the route authenticates, 403 where it requires roles, 404 where the path
  names a resource, 409 (`idempotency_in_progress`) and `Idempotency-Key` on every POST,
  413 where a body is read, 422 where anything is parsed, 400 where a multipart body is
  parsed (a malformed one), 503 (`Retry-After`) everywhere:
  every operation uses the database.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.kit import openapi_webhooks as webhooks
from app.kit.auth import authenticate
from app.kit.errors import DEFAULT_SCHEMAS, PROBLEM_JSON, Problem
from app.kit.events import EventType
from app.kit.idempotency import MAX_KEY_LENGTH
from app.kit.routing import TransactionalRoute

API_VERSION = "1.0.0"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_REF = "#/components/schemas/"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

# CreditDesk runs where its operator runs it: the Quickstart's address, as an example.
SERVERS = [
    {
        "url": "http://127.0.0.1:8000",
        "description": "a local `creditdesk serve` (the Quickstart); use your deployment's URL",
    }
]
LICENSE = {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"}

TAG_DESCRIPTIONS = {
    "api keys": "Keys and their roles (admin).",
    "customers": "Customers and caller verification.",
    "credits": "Packs, balances, statements, spend and adjustments.",
    "payments": "Buying credit packs.",
    "tickets": "The two-line support desk.",
    "service levels": "Calendars, targets and SLA clocks.",
    "email": "E-mail intake, contacts, attachments and the outbox.",
    "finance exports": "Journal and deferred-revenue exports for the books.",
}


def operation_id(route: APIRoute) -> str:
    """`generate_unique_id_function`: the endpoint function's name."""
    return route.name


def server_version() -> str:
    try:
        return importlib.metadata.version("creditdesk")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "0+unknown"


def _api_routes(app: FastAPI) -> Iterator[tuple[Any, APIRoute]]:
    """(the route as mounted, the route as declared) of every operation in the document.
    FastAPI ≥ 0.13x mounts included routers lazily (`iter_route_contexts`)."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    mounted_routes: list[Any] = list(iter_contexts(app.routes) if iter_contexts else app.routes)
    for mounted in mounted_routes:
        declared = getattr(mounted, "original_route", mounted)
        if isinstance(declared, APIRoute) and mounted.include_in_schema:
            yield mounted, declared


def build(
    app: FastAPI,
    events: Mapping[EventType, type[BaseModel]] | None = None,
    examples: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The document; `events`: each event type the app writes → its `data.object` schema,
    described in the `webhooks` section (OpenAPI 3.1); `examples`: operationId → a
    recorded request and answer (`app.api_examples`)."""
    routes = list(_api_routes(app))
    ids = [operation_id(declared) for mounted, declared in routes for _ in mounted.methods]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuntimeError(f"operation ids must be unique; rename the endpoints {duplicates}")
    schema = get_openapi(
        title=app.title,
        version=API_VERSION,
        summary=app.summary,
        description=(
            f"CreditDesk API v1 (contract version {API_VERSION}, server {server_version()}). "
            "Errors are `application/problem+json` (RFC 9457) with a stable `code`. "
            "Every POST accepts an `Idempotency-Key`."
        ),
        routes=app.routes,
        tags=[{"name": n, "description": d} for n, d in TAG_DESCRIPTIONS.items()],
        servers=SERVERS,
        license_info=LICENSE,
    )
    schema["info"]["x-server-version"] = server_version()
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schema["security"] = [{"bearer": []}]
    for mounted, declared in routes:
        for method in mounted.methods:
            operation = schema["paths"][mounted.path_format][method.lower()]
            _complete(operation, mounted, declared, method)
            example = (examples or {}).get(operation["operationId"])
            if example is not None:
                _show_example(operation, example)
    _add_problem_schemas(schemas)
    if events:
        webhooks.add(schema, events)
    _mark_defaults_for_generators(schema)
    return schema


def _complete(operation: dict[str, Any], route: Any, declared: APIRoute, method: str) -> None:
    operation["tags"] = list(dict.fromkeys(operation.get("tags", [])))
    responses: dict[str, Any] = operation.setdefault("responses", {})
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    has_body = "requestBody" in operation
    statuses = {503}
    if _calls(route.dependant, authenticate):
        statuses.add(401)
    if _requires_roles(route.dependant):
        statuses.add(403)
    if "{" in route.path_format:
        statuses.add(404)
    honours_key = isinstance(declared, TransactionalRoute) or _reads_header(
        route.dependant, IDEMPOTENCY_HEADER
    )
    if method == "POST" and honours_key:
        statuses |= {409, 422}
        _declare_idempotency_key(parameters)
    if has_body or method == "POST":
        statuses |= {413, 422}
    if parameters or has_body:
        statuses.add(422)
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        statuses.add(400)  # a body that is not well-formed multipart (`bad_request`)
    for status in statuses:
        responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})
    if not parameters:
        operation.pop("parameters")
    if "401" not in responses:
        operation["security"] = []  # this operation does not read an API key
    for code, response in responses.items():
        if int(code) >= 400:
            _as_problem(int(code), response)
        else:
            _declare_file_schemas(response)


def _as_problem(status: int, response: dict[str, Any]) -> None:
    content = response.get("content", {})
    schema = (content.get(PROBLEM_JSON) or {}).get("schema")
    default = DEFAULT_SCHEMAS.get(status, Problem)
    if (
        schema is None
        or schema == {"$ref": _REF + "HTTPValidationError"}
        or schema == {"$ref": _REF + "Problem"}
    ):
        schema = {"$ref": _REF + default.__name__}
    response["content"] = {PROBLEM_JSON: {"schema": schema}}
    response["description"] = response.get("description") or HTTPStatus(status).phrase
    if response["description"] == "Validation Error":
        response["description"] = HTTPStatus(status).phrase
    if status in (429, 503):
        response.setdefault("headers", {})["Retry-After"] = {
            "description": "seconds to wait before retrying",
            "schema": {"type": "integer"},
        }


def _show_example(operation: dict[str, Any], example: Mapping[str, Any]) -> None:
    """A recorded request and answer, as the parameters', body's and answer's `example`."""
    for parameter in operation.get("parameters", []):
        if parameter["name"] in example["parameters"]:
            parameter["example"] = example["parameters"][parameter["name"]]
    if example.get("body") is not None:
        for media in operation.get("requestBody", {}).get("content", {}).values():
            media["example"] = example["body"]
    answer = operation["responses"].get(str(example["status"]), {})
    recorded = example.get("answer")
    if recorded is not None:  # text (CSV) for text media types, else JSON
        for media_type, media in answer.get("content", {}).items():
            essence = media_type.split(";")[0]
            if (
                essence.startswith("text/")
                if isinstance(recorded, str)
                else essence.endswith("json")
            ):
                media["example"] = recorded


def _declare_file_schemas(response: dict[str, Any]) -> None:
    """A file answer (PDF, CSV, XLSX, ZIP) declared with no schema: generators skip it
    (openapi-python-client dropped the receipt). Text is a string, the rest binary."""
    for media_type, media in response.get("content", {}).items():
        essence = media_type.split(";")[0].strip()
        if essence.endswith("json") or media.get("schema"):
            continue
        text = essence.startswith("text/") or essence == "application/jsonl"
        media["schema"] = {"type": "string"} if text else {"type": "string", "format": "binary"}


def _declare_idempotency_key(parameters: list[dict[str, Any]]) -> None:
    parameters[:] = [
        p for p in parameters if not (p["in"] == "header" and p["name"] == IDEMPOTENCY_HEADER)
    ]
    parameters.append(
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": (
                "Makes the POST safe to retry: the same key with the same body replays the "
                "first answer (`Idempotent-Replayed: true`); with another body: 422 "
                "`idempotency_key_reused`; while the first is in flight: 409 "
                "`idempotency_in_progress`. Kept at least 24 h, per API key."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        }
    )


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _calls(dependant: Dependant, function: object) -> bool:
    return any(d.call is function for d in _dependencies(dependant))


def _requires_roles(dependant: Dependant) -> bool:
    return any(getattr(d.call, "required_roles", None) for d in _dependencies(dependant))


def _reads_header(dependant: Dependant, name: str) -> bool:
    fields = [*dependant.header_params]
    for sub in _dependencies(dependant):
        fields.extend(sub.header_params)
    return any((f.alias or f.name).lower() == name.lower() for f in fields)


def _problem_models() -> list[type[Problem]]:
    found: list[type[Problem]] = [Problem]
    for model in found:
        found.extend(m for m in model.__subclasses__() if m not in found)
    return found


def _add_problem_schemas(schemas: dict[str, Any]) -> None:
    models = _problem_models()
    _, definitions = models_json_schema(
        [(m, "serialization") for m in models], ref_template=_REF + "{model}"
    )
    for name, definition in definitions.get("$defs", {}).items():
        schemas.setdefault(name, definition)


def _mark_defaults_for_generators(document: dict[str, Any]) -> None:
    """What a server default means depends on the direction, and generators read `default`
    as "always present" (openapi-typescript's `defaultNonNullable`, on by default, makes a
    defaulted property of a component required, even in a request body). So:
    - in a schema a request body uses, a defaulted property is optional: its default moves
      from `default` into the description (a minimal `POST /v1/tickets` type-checks);
    - in a schema only successful answers use, a defaulted property is `required`: the server
      always sends it (Pydantic's serialization mode says the same). Problems are left as
      they are: their optional members are omitted when unset."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    operations = [
        op for item in document["paths"].values() for op in item.values() if "responses" in op
    ]
    requests = _reachable(schemas, [op.get("requestBody", {}) for op in operations])
    answers = _reachable(
        schemas,
        [r for op in operations for code, r in op["responses"].items() if code.startswith("2")],
    )
    for name in requests:
        _describe_defaults(schemas[name])
    for name in answers - requests:
        _require_defaults(schemas[name])


def _refs(node: object) -> set[str]:
    return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(node)))


def _reachable(schemas: dict[str, Any], roots: list[Any]) -> set[str]:
    seen: set[str] = set()
    todo = [name for root in roots for name in _refs(root)]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _object_schemas(node: Any) -> Iterator[dict[str, Any]]:
    """`node` and every inline schema within it that has `properties`."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield node
        for value in node.values():
            yield from _object_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _object_schemas(value)


def _describe_defaults(schema: dict[str, Any]) -> None:
    for owner in _object_schemas(schema):
        for prop in owner["properties"].values():
            if isinstance(prop, dict) and "default" in prop:
                value = prop.pop("default")
                default = value if isinstance(value, str) else json.dumps(value)
                text = prop.get("description", "")
                prop["description"] = (
                    f"{text}; default `{default}`" if text else f"default `{default}`"
                )


def _require_defaults(schema: dict[str, Any]) -> None:
    for owner in _object_schemas(schema):
        defaulted = [
            k for k, v in owner["properties"].items() if isinstance(v, dict) and "default" in v
        ]
        required = owner.setdefault("required", [])
        required.extend(k for k in defaulted if k not in required)
