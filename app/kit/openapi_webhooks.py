"""The OpenAPI 3.1 `webhooks` section: one entry per event type, each with its own schema
(`TicketCreatedEvent`: `type` fixed to `ticket.created`, `data.object` a `TicketRead`), and
the Standard Webhooks headers every delivery carries (docs/webhooks.md). What each event
type's `data.object` is comes from the features' declarations (`Feature.events`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.kit.events import EventType

_REF = "#/components/schemas/"
TAG = "webhook events"
TAG_DESCRIPTION = (
    "What CreditDesk POSTs to your webhook endpoints, one entry per event type (the same "
    "events as `GET /v1/events`), signed as Standard Webhooks says."
)

_HEADERS = [
    ("webhook-id", "the event's `id` (`evt_…`), the same on every retry: deduplicate on it"),
    ("webhook-timestamp", "Unix seconds of this attempt; refuse old ones (replays)"),
    (
        "webhook-signature",
        "`v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` with the "
        "endpoint's secret (the base64 after `whsec_`); several, space-separated, while a "
        "secret is rotated",
    ),
]


def schema_name(event_type: EventType) -> str:
    """`ticket.status_changed` → `TicketStatusChangedEvent`."""
    words = event_type.value.replace(".", "_").split("_")
    return "".join(w.capitalize() for w in words) + "Event"


def add(document: dict[str, Any], events: Mapping[EventType, type[BaseModel]]) -> None:
    schemas: dict[str, Any] = document["components"]["schemas"]
    _add_object_schemas(schemas, set(events.values()))
    document.setdefault("tags", []).append({"name": TAG, "description": TAG_DESCRIPTION})
    webhooks: dict[str, Any] = {}
    for event_type in EventType:  # the enum's order: the catalogue's
        model = events.get(event_type)
        if model is None:
            continue
        name = schema_name(event_type)
        schemas[name] = _event_schema(event_type, model)
        webhooks[event_type.value] = {"post": _operation(event_type, name)}
    document["webhooks"] = webhooks


def _add_object_schemas(schemas: dict[str, Any], models: set[type[BaseModel]]) -> None:
    """The objects' schemas as the API's answers have them (serialization mode). Those an
    endpoint answers with are in the document already, as FastAPI wrote them: kept."""
    ordered = sorted(models, key=lambda m: m.__name__)
    _, definitions = models_json_schema(
        [(m, "serialization") for m in ordered], ref_template=_REF + "{model}"
    )
    for name, definition in definitions.get("$defs", {}).items():
        schemas.setdefault(name, definition)


def _event_schema(event_type: EventType, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "title": schema_name(event_type),
        "description": f"The `{event_type.value}` event (docs/webhooks.md).",
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "`evt_…`; also the `webhook-id` header"},
            "type": {"type": "string", "const": event_type.value},
            "created_at": {"type": "string", "format": "date-time"},
            "customer_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "data": {
                "type": "object",
                "properties": {"object": {"$ref": _REF + model.__name__}},
                "required": ["object"],
            },
            "previous": {
                "type": "object",
                "additionalProperties": True,
                "description": "the changed fields' old values (absent when none changed)",
            },
        },
        "required": ["id", "type", "created_at", "customer_id", "data"],
    }


def _operation(event_type: EventType, schema: str) -> dict[str, Any]:
    return {
        "operationId": event_type.value.replace(".", "_") + "_webhook",
        "summary": f"{event_type.value} (webhook)",
        "tags": [TAG],
        "security": [],
        "parameters": [
            {
                "name": name,
                "in": "header",
                "required": True,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, text in _HEADERS
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF + schema}}},
        },
        "responses": {
            "200": {
                "description": "Any 2xx answer is success; anything else, or no answer in "
                "time, is retried with backoff for at least 24 h."
            }
        },
    }
