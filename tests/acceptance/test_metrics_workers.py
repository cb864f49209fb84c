"""`/metrics` under `creditdesk serve --workers 2` (a real server on a free port): every
scrape sums the counters of both workers (prometheus-client multiprocess mode), so scraped
20 times and more, interleaved with requests that land on either worker, no counter ever
goes backwards and every request made is counted. A worker counts a request just after
answering it, so a scrape right after may miss the last ones: each round scrapes until
the count has caught up (a condition; it cannot catch up on one worker's counts alone)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx

from tests.acceptance.test_server import ADMIN_KEY, CREDITDESK
from tests.conftest import free_port
from tests.waiting import DEADLINE, REQUEST_TIMEOUT, wait_until, wait_until_serving

SAMPLE = re.compile(r"^(creditdesk_[a-z_]+)(\{[^}]*\})? (\S+)$", re.MULTILINE)


def samples(text: str) -> dict[str, float]:
    return {name + (labels or ""): float(value) for name, labels, value in SAMPLE.findall(text)}


def requests_total(found: dict[str, float]) -> float:
    """Requests counted, but the readiness probes (as many as a loaded host needs)."""
    return sum(
        v
        for k, v in found.items()
        if k.startswith("creditdesk_http_requests_total{") and 'route="/readyz"' not in k
    )


def test_metrics_never_go_backwards_across_two_workers(database_url: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's: cleaned at start
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CREDITDESK_", "PROMETHEUS_"))},
        "CREDITDESK_DATABASE_URL": database_url,
        "CREDITDESK_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "CREDITDESK_PERIODIC_TASKS_ENABLED": "false",
        "CREDITDESK_METRICS_DIR": str(metrics_dir),
    }
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(CREDITDESK), "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    previous: dict[str, float] = {}
    made = 0

    def scrape() -> dict[str, float]:
        """One scrape, on either worker: no counter below the previous scrape's, and no
        request counted that was not made."""
        nonlocal previous, made
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as http:
            scraped = http.get("/metrics")
        assert scraped.status_code == 200
        found = samples(scraped.text)
        for name, value in previous.items():
            if "_total" in name or "_count" in name or "_sum" in name:
                assert found.get(name, 0) >= value, f"{name} went backwards"
        assert requests_total(found) <= made, "more requests counted than were made"
        made += 1  # the scrape itself, counted once answered
        previous = found
        return found

    try:
        wait_until_serving(process, f"{base}/readyz", "creditdesk serve --workers 2", log)
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        for i in range(20):
            # a fresh connection per request, so the kernel spreads them over both workers
            with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as http:
                for _ in range(3):
                    http.get("/healthz")
                    made += 1
                if i % 5 == 0:
                    customer = http.post("/v1/customers", headers=admin,
                                         json={"name": f"C{i}", "email": f"c{i}@example.com"})  # fmt: skip
                    assert customer.status_code == 201, customer.text
                    made += 1
                    ticket = http.post("/v1/tickets", headers=admin, json={
                        "customer_id": customer.json()["id"], "line": "technical",
                        "subject": f"Panel fails to start after update {i}", "body": "It fails on start."})  # fmt: skip
                    assert ticket.status_code == 402, ticket.text
                    made += 1

            def caught_up(wanted: int = made) -> bool:
                return requests_total(scrape()) >= wanted

            wait_until(caught_up, f"a scrape counting all {made} requests made (round {i})")
        refused = 'creditdesk_insufficient_credits_total{route="/v1/tickets"}'
        wait_until(lambda: scrape().get(refused) == 4, "the four refused tickets counted")
        # refused with 402, so not submitted (the counter counts tickets made)
        assert previous.get('creditdesk_ticket_submissions_total{line="technical"}', 0) == 0
        assert "creditdesk_email_outbox_pending" in previous
        files = list(metrics_dir.glob("*.db"))
        assert files and not (metrics_dir / "counter_1.db").exists()  # the stale file went
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=DEADLINE)
