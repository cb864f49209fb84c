"""The staff console in a real browser: Debian's headless Chromium driven by Playwright for
Python, against `creditdesk serve` on a free port with a throw-away PostgreSQL database.

An agent and an engineer work through a day: the most urgent ticket, a reply, a transfer
the customer accepts in the cabinet, a confirmed bug (the refund shows in the cabinet), a
merged duplicate, phone calls and change hours up to their limits. A customer key gets no
console. axe-core (the copy inside the PyPI package axe-playwright-python) finds no serious
violation on any page. Screenshots go to `test-artefacts/console/` (CREDITDESK_TEST_ARTEFACTS
moves the folder)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.desk.sla_sweep import sweep
from app.kit.db import Database
from app.settings import Settings
from tests.acceptance.test_server import _wait_until_ready
from tests.accessibility import serious_violations
from tests.conftest import _asyncpg_dsn, free_port, migrated_pg_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_KEY = "cdk_console-bootstrap-0123456789abcdef"
CREDITDESK = Path(sys.executable).with_name("creditdesk")
ARTEFACTS = (
    Path(
        os.environ.get(
            "CREDITDESK_TEST_ARTEFACTS", Path(__file__).resolve().parents[2] / "test-artefacts"
        )
    )
    / "console"
)
REQUIRED = os.environ.get("CI", "").lower() == "true"
WAIT_MS = 30_000  # the live refresh polls every 3 s; a busy shared server lists events later

pytestmark = pytest.mark.postgres  # served on a throw-away PostgreSQL database

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright", reason="in the test extra")


def _need(thing: str | None) -> None:
    if thing is not None:
        if REQUIRED:
            pytest.fail(thing)
        pytest.skip(thing)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, pg_database: str
) -> Iterator[tuple[str, dict[str, str]]]:
    """`creditdesk serve` on a migrated throw-away PostgreSQL database of its own (beside the
    suite's, whose fixture says whether a server answers); yields the base URL and the
    server's environment."""
    tmp = tmp_path_factory.mktemp("console")
    with migrated_pg_database("creditdesk_console") as url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")},
            "CREDITDESK_DATABASE_URL": url,
            "CREDITDESK_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
            "CREDITDESK_PERIODIC_TASKS_ENABLED": "false",
            "CREDITDESK_ENV": "development",
        }
        port = free_port()
        log = tmp / "server.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(CREDITDESK), "serve", "--port", str(port)],
                cwd=tmp, env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(process, base, log)
            yield base, env
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need(None if CHROMIUM.exists() else "Debian's chromium is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module", autouse=True)
def artefacts() -> Path:
    if ARTEFACTS.exists():
        shutil.rmtree(ARTEFACTS)
    ARTEFACTS.mkdir(parents=True)
    return ARTEFACTS


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.admin = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def post(self, path: str, body: dict[str, Any] | None = None, headers: Any = None) -> Any:
        response = self.http.post(path, json=body or {}, headers=headers or self.admin)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def key(self, role: str, name: str, customer_id: str | None = None) -> str:
        body = {"role": role, "name": name, "customer_id": customer_id}
        key: str = self.post("/v1/api-keys", body)["key"]
        return key

    def ticket(self, customer: dict[str, Any], line: str, subject: str, **extra: Any) -> Any:
        body = {"customer_id": customer["id"], "line": line, "subject": subject, **extra}
        return self.post("/v1/tickets", {"body": f"{subject}: details.", **body})


def _overdue_and_escalated(url: str, ticket_id: str) -> str:
    """Moves the ticket's clock eleven days back, then runs the escalation sweep (what
    `creditdesk escalate` runs) at the real time, as the server reads it."""

    async def run() -> str:
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            await conn.execute(
                "UPDATE ticket_slas SET started_at = started_at - interval '11 days' "
                "WHERE ticket_id = $1",
                ticket_id,
            )
        finally:
            await conn.close()
        settings = Settings(_env_file=None, database_url=url, periodic_tasks_enabled=False)  # type: ignore[call-arg]
        db = Database.from_settings(settings)
        try:
            return (await sweep(db, datetime.now(UTC), settings)).render()
        finally:
            await db.dispose()

    # Playwright's sync API keeps an event loop in this thread: run beside it.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _shot(page: Any, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top in a full page
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def _axe(page: Any, name: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    serious = serious_violations(page, ARTEFACTS / f"{name}.axe.json")
    assert not serious, f"axe-core on {name}: {serious}"


def _confirm(page: Any, says: str) -> None:
    """The confirm step states the cost; then it is confirmed."""
    dialog = page.locator("#confirm")
    sync_api.expect(dialog).to_be_visible()
    sync_api.expect(page.get_by_test_id("confirm-text")).to_contain_text(says)
    dialog.locator("#confirm-ok").click()  # labelled with the action's name
    sync_api.expect(dialog).to_be_hidden()


def _sign_in(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("Your staff API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def _act(page: Any, action: str, button: str, says: str, **fields: str) -> None:
    form = page.locator(f"form[data-action={action}]")
    for label, value in fields.items():
        control = form.get_by_label(label.replace("_", " "), exact=True)
        if control.evaluate("el => el.tagName") == "SELECT":
            control.select_option(label=value)
        else:
            control.fill(value)
    form.get_by_role("button", name=button).click()
    _confirm(page, says)


def test_a_day_at_the_desk(served: tuple[str, dict[str, str]], browser: Any) -> None:
    base, env = served
    api = Api(base)
    expect = sync_api.expect
    agent_key = api.key("cr_agent", "Ann Agent")
    engineer_key = api.key("engineer", "Dana Engineer")
    acme = api.post(
        "/v1/customers",
        {"name": "Acme Hosting", "email": "ops@acme.example", "code_word": "bluefish"},
    )
    api.post(f"/v1/customers/{acme['id']}/adjustments", {"credits": 3, "reason": "welcome"})
    api.http.put(
        f"/v1/customers/{acme['id']}/change-allowance", json={"hours_per_month": 1},
        headers=api.admin,
    ).raise_for_status()  # fmt: skip
    globex = api.post(
        "/v1/customers", {"name": "Globex Partners", "email": "it@globex.example", "partner": True}
    )
    urgent = api.ticket(acme, "customer_relations", "Invoice for the panel.acme.example licence")
    api.ticket(globex, "customer_relations", "Reseller price list for 2027", severity=2)
    backups = api.ticket(acme, "technical", "Backups fail after the 5.2 update")
    duplicate = api.ticket(acme, "technical", "Nightly backup stops with quota exceeded")
    log = ("backup.log", b"05:00 backup: disk quota exceeded (48 GB of 50 GB)\n", "text/plain")
    uploaded = api.http.post(
        f"/v1/tickets/{backups['id']}/attachments", files={"files": log}, headers=api.admin
    )
    assert uploaded.status_code == 201, uploaded.text
    # The first ticket came in eleven days ago: overdue, and escalated by the sweep.
    escalated = _overdue_and_escalated(env["CREDITDESK_DATABASE_URL"], urgent["id"])
    assert f"#{urgent['number']} → level 1" in escalated

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)

    # Signing in: the key is exchanged for a session; the key is not kept.
    page.goto(f"{base}/console/")
    expect(page.locator("[data-page=signin]")).to_be_visible()
    _shot(page, "01-sign-in")
    _axe(page, "01-sign-in")
    _sign_in(page, base, agent_key)
    expect(page.locator("#who")).to_have_text("Ann Agent · Customer relations agent")
    stored = page.evaluate("JSON.stringify(sessionStorage)") + page.evaluate(
        "JSON.stringify(localStorage)"
    )
    assert agent_key not in stored and "cds_" in stored

    # The queue of the agent's line, most urgent first: the overdue, escalated ticket.
    queue = page.get_by_test_id("queue")
    expect(queue.locator("tbody tr")).to_have_count(2)
    first = queue.locator("tbody tr").first
    expect(first).to_have_attribute("data-ticket", urgent["id"])
    expect(first.locator("[data-mark=breached]")).to_be_visible()
    expect(first.locator("[data-mark=escalated]")).to_have_text("Escalated L1")
    dues = queue.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.due)")
    assert dues == sorted(dues)
    page.locator("#live").filter(has_text="Live").wait_for()
    _shot(page, "02-queue-agent")
    _axe(page, "02-queue-agent")
    page.get_by_label("Customers", exact=True).select_option("true")
    expect(queue.locator("tbody tr")).to_have_count(1)
    expect(queue).to_contain_text("Globex Partners")
    page.get_by_role("link", name="Clear").click()
    expect(queue.locator("tbody tr")).to_have_count(4)

    # The most urgent ticket, by keyboard: j to the first ticket, Enter, r to reply.
    page.goto(f"{base}/console/#/?line=customer_relations")
    expect(queue.locator("tbody tr")).to_have_count(2)
    page.keyboard.press("j")
    expect(first.locator("td.subject a")).to_be_focused()
    page.keyboard.press("Enter")
    ticket = page.locator("[data-page=ticket]")
    expect(ticket.locator("h1")).to_have_text(urgent["subject"])
    page.keyboard.press("r")
    expect(page.get_by_label("Message")).to_be_focused()
    page.keyboard.type("The invoice is on its way to ops@acme.example.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send reply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm-text")).to_contain_text("Free: no credits change hands.")
    expect(page.get_by_test_id("confirm-text")).to_contain_text(
        "Sends a public reply to Acme Hosting."
    )
    _shot(page, "03-confirm-reply")
    page.keyboard.press("Enter")  # the confirm step's own button has the focus
    expect(page.locator("#confirm")).to_be_hidden()
    expect(page.get_by_test_id("thread")).to_contain_text("The invoice is on its way")
    page.get_by_label("Message").fill("Customer asked twice; check the billing address.")
    page.get_by_role("button", name="Add internal note").click()
    _confirm(page, "Acme Hosting never sees it")
    expect(page.locator("[data-internal=true]")).to_contain_text("check the billing address")
    _act(page, "assign", "Assign", "Assigns the ticket to Ann Agent.")
    expect(page.get_by_test_id("facts")).to_contain_text("Ann Agent")
    expect(page.get_by_test_id("sla")).to_contain_text("Met")

    # A transfer needs the customer's consent, and says so before it is asked.
    _act(
        page, "transfer", "Transfer to technical support",
        "Asks Acme Hosting to consent: 1 credit is charged only when they accept (they have 1 credit).",
    )  # fmt: skip
    expect(page.get_by_test_id("facts")).to_contain_text("Awaiting consent")
    _shot(page, "04-ticket-transfer-asked")
    _axe(page, "04-ticket")

    # The customer accepts in the cabinet; the console shows it without a reload.
    portal = api.post(f"/v1/customers/{acme['id']}/portal-sessions")
    cabinet = context.new_page()
    cabinet.set_default_timeout(30_000)  # a deadline, not a measure: loaded CI runs are slow
    cabinet.goto(portal["url"])
    # Signed in (the link's token taken from the fragment and kept) before moving on: a
    # navigation while the page still loads drops the token ("Your session has ended").
    expect(cabinet.locator("#who")).to_have_text("Acme Hosting")
    assert "token=" not in cabinet.url
    cabinet.goto(f"{base}/cabinet/#/tickets/{urgent['id']}")
    cabinet.get_by_role("button", name="Accept for 1 credit").click()
    expect(cabinet.get_by_test_id("transfer")).to_have_count(0)
    expect(page.get_by_test_id("facts")).to_contain_text("Technical support", timeout=WAIT_MS)
    expect(page.get_by_test_id("customer-panel")).to_contain_text("0 credits")
    _shot(page, "05-ticket-transferred-live")

    # On the phone: the caller gives the code word; a cabinet link; calls to the limit.
    page.locator("#tabs").get_by_role("link", name="Customers").click()
    page.get_by_label("Name, e-mail or customer id").fill("acme")
    page.get_by_role("button", name="Find").click()
    found = page.get_by_test_id("customers")
    expect(found.locator("tbody tr")).to_have_count(1)
    _shot(page, "06a-customers")
    _axe(page, "06a-customers")
    found.get_by_role("link", name="Acme Hosting").click()
    expect(page.locator("[data-page=customer] h1")).to_have_text("Acme Hosting")
    page.get_by_label("Caller's code word").fill("redfish")
    page.get_by_role("button", name="Verify caller").click()
    expect(page.locator("#alert")).to_have_text("The code word does not match.")
    page.get_by_label("Caller's code word").fill("bluefish")
    page.get_by_role("button", name="Verify caller").click()
    expect(page.get_by_test_id("phone")).to_contain_text("Caller verified")
    page.get_by_role("button", name="Create cabinet link").click()
    _confirm(page, "Creates a cabinet link for Acme Hosting, valid 60 minutes.")
    link = re.compile(re.escape(f"{base}/cabinet/#token=cdp_") + r".+&customer=" + acme["id"])
    expect(page.locator("#portal-url")).to_have_value(link)
    for n in (1, 2, 3):
        _act(
            page, "log-call", "Log call", f"Logs call {n} of 3 today for Acme Hosting (10 min).",
            Topic=f"Backup question {n}",
        )  # fmt: skip
        expect(page.get_by_test_id("calls").locator("tbody tr")).to_have_count(n)
    expect(page.get_by_test_id("calls-left")).to_contain_text("0 of 3 calls left today")
    _act(page, "log-call", "Log call", "The daily limit of 3 calls is reached", Topic="One more")
    expect(page.locator("#alert")).to_contain_text("3 phone consultations")
    expect(page.get_by_test_id("calls").locator("tbody tr")).to_have_count(3)
    _shot(page, "06-customer-calls-at-limit")
    _axe(page, "06-customer")

    # Signing out revokes the session.
    token = json.loads(page.evaluate("sessionStorage.getItem('console.session')"))["token"]
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("[data-page=signin]")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('console.session')") is None
    revoked = api.http.get("/v1/queue", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401

    # The engineer: technical queue, confirms the bug, merges the duplicate, logs hours.
    _sign_in(page, base, engineer_key)
    expect(page.locator("#who")).to_have_text("Dana Engineer · Engineer")
    expect(page.get_by_label("Line", exact=True)).to_have_value("technical")
    expect(queue.locator("tbody tr")).to_have_count(3)
    _shot(page, "07-queue-engineer")
    page.goto(f"{base}/console/#/tickets/{backups['id']}")
    expect(ticket.locator("h1")).to_have_text(backups["subject"])
    with page.expect_download() as download:
        page.get_by_test_id("thread").get_by_role("button", name="backup.log").click()
    assert b"disk quota exceeded" in Path(download.value.path()).read_bytes()
    _act(
        page, "bug", "Confirm product bug", "Refunds 1 credit to Acme Hosting.",
        Bug_reference="BUG-5210",
    )  # fmt: skip
    expect(page.get_by_test_id("facts")).to_contain_text("refunded (product bug)")
    expect(page.get_by_test_id("facts")).to_contain_text("BUG-5210")
    cabinet.goto(f"{base}/cabinet/#/")
    expect(cabinet.get_by_test_id("history")).to_contain_text("Refund")
    expect(cabinet.get_by_test_id("balance")).to_have_text(re.compile(r"^1\D"))
    _shot(cabinet, "08-cabinet-refund")

    page.goto(f"{base}/console/#/tickets/{duplicate['id']}")
    expect(ticket.locator("h1")).to_have_text(duplicate["subject"])
    _act(
        page, "merge", "Merge as duplicate", "Refunds 1 credit to Acme Hosting.",
        Duplicate_of=f"#{backups['number']} · {backups['subject']}",
    )  # fmt: skip
    expect(page.get_by_test_id("facts")).to_contain_text("Closed")
    expect(page.get_by_test_id("facts")).to_contain_text("refunded (merged)")

    page.goto(f"{base}/console/#/tickets/{backups['id']}")
    _act(
        page, "work-log", "Log change hours", "will be left", Minutes="45", What_was_changed="Cron"
    )
    expect(page.get_by_test_id("hours-left")).to_contain_text("15 min of 1 h left")
    _act(page, "work-log", "Log change hours", "0 min will be left", Minutes="15",
         What_was_changed="Quota")  # fmt: skip
    expect(page.get_by_test_id("hours-left")).to_contain_text("0 min of 1 h left")
    _act(page, "work-log", "Log change hours", "the server will refuse this log", Minutes="30",
         What_was_changed="Retention")  # fmt: skip
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#alert")).not_to_have_class("alert ok")
    _shot(page, "09-ticket-hours-at-limit")
    _axe(page, "09-ticket-engineer")

    # Russian.
    page.get_by_role("button", name="RU").click()
    expect(page.locator("#tabs").get_by_role("link", name="Очередь")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "ru"
    page.goto(f"{base}/console/#/")
    expect(page.locator("[data-page=queue] h1")).to_have_text("Очередь")
    _shot(page, "10-queue-ru")
    _axe(page, "10-queue-ru")
    context.close()


def test_a_customer_key_gets_no_console(served: tuple[str, dict[str, str]], browser: Any) -> None:
    base, _ = served
    api = Api(base)
    customer = api.post("/v1/customers", {"name": "Initech", "email": "it@initech.example"})
    key = api.key("customer", "Initech portal", customer["id"])
    headers = api.http.get(f"{base}/console/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    context = browser.new_context(viewport={"width": 1000, "height": 700}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    _sign_in(page, base, key)
    alert = page.locator("#alert")
    sync_api.expect(alert).to_contain_text("The console is for staff")
    sync_api.expect(alert).to_contain_text("customers use the cabinet")
    sync_api.expect(page.locator("[data-page=signin]")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('console.session')") is None
    _shot(page, "11-customer-key-refused")
    _axe(page, "11-customer-key-refused")
    context.close()
