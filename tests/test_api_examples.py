"""Every operation of the OpenAPI document has an example, and the example is real: this
test sends the walk of tests/examples_scenario.py to the app (every operation at least
once), checks each answer's status and validates its body against the document's schema
for it, and checks that the examples the document shows (app/api_examples/operations.json,
ids and secrets replaced by stable stand-ins) are exactly these requests, with answers that
validate too; every event the walk wrote validates against its `webhooks` entry.
`RECORD_EXAMPLES=1` rewrites the file from this run."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.api_examples import EXAMPLES_FILE, load_examples
from app.kit.auth import Role
from app.kit.clock import FrozenClock
from app.kit.events import Event
from app.main import create_app
from app.notices.service import notice_ticket_events
from app.settings import Settings
from app.webhooks.models import event_payload
from tests.conftest import Api, admin_api
from tests.examples_scenario import STEPS, TECH, R, Step
from tests.schema_check import document, event_problems, problems
from tests.webhooks.conftest import deliver

METHODS = ("get", "post", "put", "patch", "delete")
_ID = re.compile(r"(?<![a-z0-9])([a-z]{2,5})_([0-9a-z]{24})(?![0-9a-z])")
_KEY = re.compile(r"\b(cd[kp])_[A-Za-z0-9_-]{20,}")
_WHSEC = re.compile(r"\bwhsec_[A-Za-z0-9+/=]{20,}")


@pytest.fixture
async def walk_api(settings: Settings, clock: FrozenClock) -> AsyncIterator[Api]:
    """The app as the examples need it: mail routed to the technical line, webhooks to a
    loopback URL allowed (the delivery fails: nothing listens there)."""
    settings = settings.model_copy(
        update={"email_routes": {TECH: "technical"}, "webhook_allow_private": True}
    )
    async with admin_api(create_app(settings, clock=clock), clock) as api:
        yield api


class StandIns:
    """Real ids and secrets → stable stand-ins, numbered in order of first sight."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def _stand_in(self, found: str, make: Callable[[int], str]) -> str:
        if found not in self.seen:
            self.seen[found] = make(len(self.seen) + 1)
        return self.seen[found]

    def text(self, value: str) -> str:
        value = _ID.sub(
            lambda m: self._stand_in(m[0], lambda n: f"{m[1]}_01example{n:015d}"), value
        )
        value = _KEY.sub(
            lambda m: self._stand_in(m[0], lambda n: f"{m[1]}_example_secret_{n}"), value
        )
        return _WHSEC.sub(
            lambda m: self._stand_in(
                m[0], lambda n: f"whsec_ZXhhbXBsZSBzZWNyZXQgbnVtYmVyIA{n:02d}"
            ),
            value,
        )

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value


def resolve(value: Any, saved: dict[str, Any]) -> Any:
    if isinstance(value, R):
        found: Any = saved
        for part in value.path.split("."):
            found = found[int(part)] if isinstance(found, list) else found[part]
        return found
    if isinstance(value, dict):
        return {k: resolve(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, saved) for v in value]
    return value


def operation(step: Step) -> dict[str, Any]:
    found: dict[str, Any] = document()["paths"][step.path][step.method.lower()]
    assert found["operationId"] == step.operation, (step.path, found["operationId"])
    return found


async def send(api: Api, step: Step, keys: dict[str, dict[str, str]], saved: dict[str, Any]
               ) -> tuple[dict[str, Any], Any, httpx.Response]:  # fmt: skip
    params = resolve(step.params, saved)
    body = resolve(step.body, saved)
    names = set(re.findall(r"\{(\w+)\}", step.path))
    url = step.path.format(**{n: params[n] for n in names})
    query = {k: v for k, v in params.items() if k not in names}
    request: dict[str, Any] = {"params": query, "headers": keys[step.key]}
    if step.files is not None:
        request["files"] = step.files
    elif step.raw is not None:
        request["content"] = step.raw[0]
        request["headers"] = {**keys[step.key], "Content-Type": step.raw[1]}
    elif body is not None:
        request["json"] = body
    answer = await api.client.request(step.method, url, **request)
    return params, body, answer


def check_answer(step: Step, answer: httpx.Response) -> Any:
    """The answer has the step's status and what the document declares for it; returns the
    body as an example (JSON, or the first lines of text; None for binary files)."""
    assert answer.status_code == step.status, (step.operation, answer.status_code, answer.text)
    declared = operation(step)["responses"][str(step.status)]
    if step.status == 204:
        assert "content" not in declared and not answer.content
        return None
    media = answer.headers["content-type"].split(";")[0]
    content = declared["content"]
    assert any(m.split(";")[0] == media for m in content), (step.operation, media, list(content))
    if media.endswith("json"):
        body = answer.json()
        (schema,) = [c["schema"] for m, c in content.items() if m.split(";")[0] == media]
        assert not problems(schema, body), (step.operation, problems(schema, body))
        return body
    if media.startswith("text/"):
        return "\n".join(answer.text.splitlines()[:6]) + "\n"
    return None


async def _refund(api: Api, purchase_id: str, amount: int) -> None:
    from billing import service as billing

    async with api.db.unit_of_work() as session:
        purchase = await billing.get_purchase(session, purchase_id)
        await billing.refund_purchase(
            session, purchase, total=amount, delta=amount, reference="ch_example",
            now=api.clock.now(), settings=api.app.state.settings,
        )  # fmt: skip


async def walk(api: Api) -> dict[str, dict[str, Any]]:
    keys = {"admin": api.admin}
    for role in (Role.cr_agent, Role.engineer, Role.finance, Role.integration):
        keys[role.value] = await api.key(role)
    saved: dict[str, Any] = {}
    stand_ins = StandIns()
    recorded: dict[str, dict[str, Any]] = {}
    answers: list[tuple[str, Any]] = []
    for step in STEPS:
        if step.operation == "list_deliveries":
            await deliver(api)  # a delivery to a URL where nothing listens: failed
        if step.operation == "list_credit_notes":  # a refund of the walk's purchase
            await _refund(api, str(saved["purchase"]["id"]), 2000)
        if step.operation == "list_notices":  # the notices of the walk's ticket changes
            await notice_ticket_events(api.db, api.app.state.settings, api.clock.now())
        params, body, answer = await send(api, step, keys, saved)
        example = check_answer(step, answer)
        if step.save is not None:
            saved[step.save] = answer.json()
            if "key" in saved[step.save] or "token" in saved[step.save]:
                secret = saved[step.save].get("key") or saved[step.save]["token"]
                keys[{"customer_key": "customer"}.get(step.save, step.save)] = {
                    "Authorization": f"Bearer {secret}"
                }
        if step.operation in recorded:
            continue
        request_body: Any = body
        if step.files is not None:
            request_body = {name: [f[1].decode()] for name, f in step.files.items()}
        elif step.raw is not None:
            request_body = step.raw[0].decode()
        recorded[step.operation] = {
            "parameters": stand_ins.json(params),
            "body": stand_ins.json(request_body),
            "status": step.status,
        }
        answers.append((step.operation, example))
    for name, example in answers:  # after every request: their ids are numbered first
        recorded[name]["answer"] = stand_ins.json(example)
    return recorded


async def test_every_operation_s_example_is_sent_and_its_answer_validates(
    walk_api: Api,
) -> None:
    recorded = await walk(walk_api)
    # Every event the walk wrote is what the document's `webhooks` entry of its type says.
    async with walk_api.db.unit_of_work() as session:
        events = [event_payload(e) for e in (await session.execute(select(Event))).scalars()]
    assert len({e["type"] for e in events}) >= 9, sorted({e["type"] for e in events})
    for event in events:
        assert not event_problems(event), (event["type"], event_problems(event))
    operations = {
        op["operationId"] for item in document()["paths"].values()
        for method, op in item.items() if method in METHODS
    }  # fmt: skip
    assert set(recorded) == operations, sorted(operations ^ set(recorded))
    if os.environ.get("RECORD_EXAMPLES"):
        text = json.dumps(recorded, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        Path(EXAMPLES_FILE).write_text(text, encoding="utf-8")
        load_examples.cache_clear()
    committed = load_examples()
    for name, example in recorded.items():
        shown = committed.get(name)
        assert shown is not None, f"{name} has no example (RECORD_EXAMPLES=1)"
        sent = {k: example[k] for k in ("parameters", "body", "status")}
        assert {k: shown[k] for k in sent} == sent, f"{name}: the example is stale"


def test_the_document_shows_the_examples_and_they_validate() -> None:
    examples = load_examples()
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            example = examples[op["operationId"]]
            for parameter in op.get("parameters", []):
                if parameter["name"] in example["parameters"]:
                    assert parameter["example"] == example["parameters"][parameter["name"]]
                    assert not problems(parameter["schema"], parameter["example"]), (
                        path,
                        parameter,
                    )
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                assert media["example"] == example["body"], (path, method)
                if media_type.endswith("json"):
                    assert not problems(media["schema"], media["example"]), (path, method)
            answer = op["responses"][str(example["status"])]
            shown = [
                (media_type.split(";")[0], media)
                for media_type, media in answer.get("content", {}).items()
                if "example" in media
            ]
            if isinstance(example["answer"], str):  # text: CSV
                assert [m for m, _ in shown if m.startswith("text/")], (path, method)
            elif example["answer"] is not None:
                assert [m for m, _ in shown if m.endswith("json")], (path, method)
            for media_type, media in shown:
                assert media["example"] == example["answer"]
                if media_type.endswith("json"):
                    assert not problems(media["schema"], media["example"]), (path, method)
