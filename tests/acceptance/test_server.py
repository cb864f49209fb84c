"""The real thing: `creditdesk serve` in a subprocess on a free port, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.kit.auth import Role
from tests.conftest import free_port
from tests.waiting import DEADLINE, REQUEST_TIMEOUT, wait_until_serving

ADMIN_KEY = "cdk_acceptance-bootstrap-0123456789abcdef"
CREDITDESK = Path(sys.executable).with_name("creditdesk")


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Yields the base URL and the server's log file; stops the server with SIGTERM."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")},
        "CREDITDESK_DATABASE_URL": database_url,
        "CREDITDESK_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "CREDITDESK_PERIODIC_TASKS_ENABLED": "false",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(CREDITDESK), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, base, log)
        yield base, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=DEADLINE)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM is clean.
    assert code in (0, -signal.SIGTERM), f"the server exited with {code}:\n{log.read_text()}"
    assert "Application shutdown complete" in log.read_text()


def _wait_until_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    wait_until_serving(process, f"{base}/readyz", "creditdesk serve", log)


def test_served_api_over_http(server: tuple[str, Path]) -> None:
    base, log = server
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/docs").status_code == 200

        created = http.post(
            "/v1/customers",
            json={"name": "Served Ltd", "email": "served@acme.example"},
            headers={**admin, "Idempotency-Key": "accept-1", "X-Request-ID": "accept-req-1"},
        )
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == "accept-req-1"
        customer = created.json()
        other = http.post(
            "/v1/customers", json={"name": "Other", "email": "other@acme.example"}, headers=admin
        ).json()

        issued = http.post(
            "/v1/api-keys",
            json={"role": Role.customer.value, "name": "cabinet", "customer_id": customer["id"]},
            headers=admin,
        )
        assert issued.status_code == 201, issued.text
        mine = {"Authorization": f"Bearer {issued.json()['key']}"}

        own = http.get(f"/v1/customers/{customer['id']}", headers=mine)
        assert own.status_code == 200
        assert own.json() == customer

        theirs = http.get(f"/v1/customers/{other['id']}", headers=mine)
        assert theirs.status_code == 404
        assert theirs.headers["content-type"].startswith("application/problem+json")

        malformed = http.post("/v1/customers", json={"name": "No email"}, headers=admin)
        assert malformed.status_code == 422
        assert malformed.headers["content-type"].startswith("application/problem+json")
        assert malformed.json()["code"] == "validation_error"

        replay = http.post(
            "/v1/customers",
            json={"name": "Served Ltd", "email": "served@acme.example"},
            headers={**admin, "Idempotency-Key": "accept-1"},
        )
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == customer

        metrics = http.get("/metrics")
        assert 'route="/v1/customers/{customer_id}",status="404"' in metrics.text

    # Logs are JSON lines, and the request's lines carry its id.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    tagged = [line for line in lines if line.get("request_id") == "accept-req-1"]
    assert tagged, log.read_text()
    assert any(line["logger"] == "creditdesk.access" for line in tagged)


RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_logs_are_json_with_utc_times_request_fields_and_no_ansi(
    server: tuple[str, Path],
) -> None:
    """What a log pipeline expects: every line JSON, RFC 3339 UTC times, no terminal colour
    codes (uvicorn's `color_message`), and an access line saying who asked what."""
    base, log = server
    with httpx.Client(base_url=base, timeout=10) as http:
        answer = http.get(
            "/v1/packs",
            headers={"Authorization": f"Bearer {ADMIN_KEY}", "X-Request-ID": "log-fields-1"},
        )
        assert answer.status_code == 200
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        key_id = http.get("/v1/api-keys", headers=admin).json()["data"][0]["id"]
        # A submission (on PostgreSQL answered by the one-statement fast path, before
        # routing) logs the key that sent it too.
        customer = http.post(
            "/v1/customers", json={"name": "Logged Ltd", "email": "log@acme.example"}, headers=admin
        ).json()
        issued = http.post(
            "/v1/api-keys",
            json={"role": "customer", "name": "cabinet", "customer_id": customer["id"]},
            headers=admin,
        ).json()
        submitted = http.post(
            "/v1/tickets",
            json={"line": "customer_relations", "subject": "Renew the licence for 2027",
                  "body": "Please send the invoice."},
            headers={"Authorization": f"Bearer {issued['key']}", "X-Request-ID": "log-fields-2"},
        )  # fmt: skip
        assert submitted.status_code == 201, submitted.text
    text = log.read_text()
    assert "\x1b[" not in text and "color_message" not in text
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    assert all(RFC3339_UTC.fullmatch(line["time"]) for line in lines), lines[0]["time"]
    (access,) = [
        line
        for line in lines
        if line["logger"] == "creditdesk.access" and line["request_id"] == "log-fields-1"
    ]
    assert {k: access[k] for k in ("method", "path", "status", "client", "key_id")} == {
        "method": "GET",
        "path": "/v1/packs",
        "status": 200,
        "client": "127.0.0.1",
        "key_id": key_id,
    }
    assert isinstance(access["duration_ms"], float | int)
    (submission,) = [line for line in lines if line.get("request_id") == "log-fields-2"]
    assert (submission["method"], submission["status"], submission["key_id"]) == (
        "POST", 201, issued["id"]
    )  # fmt: skip
