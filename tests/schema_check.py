"""Validation of JSON against the OpenAPI document's own schemas (JSON Schema 2020-12, as
OpenAPI 3.1 uses), with jsonschema-rs: what a partner's validating client would say."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs

from app.main import create_app
from app.settings import Settings


@cache
def document() -> dict[str, Any]:
    app = create_app(Settings(_env_file=None, periodic_tasks_enabled=False))  # type: ignore[call-arg]
    return json.loads(json.dumps(app.openapi()))  # type: ignore[no-any-return]


def problems(schema: dict[str, Any], instance: Any) -> list[str]:
    """Every way `instance` breaks `schema` (which may `$ref` the document's components)."""
    rooted = {**schema, "components": document()["components"]}
    validator = jsonschema_rs.Draft202012Validator(rooted)
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def event_problems(event: dict[str, Any]) -> list[str]:
    """`event` (a delivery's body or an item of `GET /v1/events`) against the `webhooks`
    entry of its type; an unknown type is a problem too."""
    entry = document().get("webhooks", {}).get(event.get("type"))
    if entry is None:
        return [f"no webhooks entry for {event.get('type')!r}"]
    schema = entry["post"]["requestBody"]["content"]["application/json"]["schema"]
    return problems(schema, event)
