"""The cabinet in a real browser: Debian's headless Chromium driven by Playwright for
Python, against `creditdesk serve` on a free port with a database of its own (offline payment
provider). Every page is served under its Content-Security-Policy, and no test may see the
browser refuse anything under it. In English and Russian (the customer's `locale`), axe-core
(the copy inside the PyPI package axe-playwright-python, in the test extra) finds no serious
or critical violation on any page.

Screenshots of every page go to `test-artefacts/cabinet/` (CREDITDESK_TEST_ARTEFACTS
overrides the folder); docs/screenshots/cabinet/ keeps a copy of the ones docs/cabinet.md
shows."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

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
ADMIN_KEY = "cdk_browser-bootstrap-0123456789abcdef"
CREDITDESK = Path(sys.executable).with_name("creditdesk")
ARTEFACTS = (
    Path(
        os.environ.get(
            "CREDITDESK_TEST_ARTEFACTS", Path(__file__).resolve().parents[2] / "test-artefacts"
        )
    )
    / "cabinet"
)
REQUIRED = os.environ.get("CI", "").lower() == "true"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
pytest.importorskip("axe_playwright_python.sync_playwright", reason="in the test extra")


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, pg_database: str) -> Iterator[tuple[str, str]]:
    """`creditdesk serve` on a database of its own; yields the base URL and the database's."""
    with migrated_pg_database("creditdesk_cabinet") as database:
        yield from _serve(tmp_path_factory.mktemp("cabinet"), database)


def _serve(tmp: Path, database: str) -> Iterator[tuple[str, str]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDITDESK_")},
        "CREDITDESK_DATABASE_URL": database,
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
        yield base, database
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_chromium()
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


class Staff:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.admin = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def post(self, path: str, body: dict[str, Any] | None = None, headers: Any = None) -> Any:
        response = self.http.post(path, json=body or {}, headers=headers or self.admin)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def customer(self, name: str, email: str, credits: int = 0) -> dict[str, Any]:
        customer = self.post("/v1/customers", {"name": name, "email": email})
        if credits:
            self.post(
                f"/v1/customers/{customer['id']}/adjustments",
                {"credits": credits, "reason": "welcome credits"},
            )
        return customer

    def transfer_awaiting_consent(self, customer_id: str, note: str | None = None) -> Any:
        """A free ticket an agent proposes to move to technical support (and says why)."""
        key = self.post("/v1/api-keys", {"role": "cr_agent", "name": "Ann"})["key"]
        agent = {"Authorization": f"Bearer {key}"}
        moved = self.post(
            "/v1/tickets",
            {"customer_id": customer_id, "line": "customer_relations",
             "subject": "Plugin stopped syncing orders", "body": "No orders since Monday."},
            headers=agent,
        )  # fmt: skip
        self.post(f"/v1/tickets/{moved['id']}/transfer", {"to_line": "technical"}, headers=agent)
        if note:
            self.post(f"/v1/tickets/{moved['id']}/messages", {"body": note}, headers=agent)
        return moved

    def portal(self, customer_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/v1/customers/{customer_id}/portal-sessions")
        return result


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def _axe(page: Any, name: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    serious = serious_violations(page, ARTEFACTS / f"{name}.axe.json")
    assert not serious, f"axe-core on {name}: {serious}"


def _csp_violations(context: Any) -> list[str]:
    """What the browser refuses under the page's Content-Security-Policy, as it reports
    it: a `securitypolicyviolation` event (recorded by a script the browser runs before the
    page's own) and a console message."""
    seen: list[str] = []
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (e) {"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI); });"
    )
    context.on(
        "console",
        lambda message: (
            seen.append(message.text)
            if "Content Security Policy" in message.text or "CSP violation" in message.text
            else None
        ),
    )
    return seen


def _session_token(page: Any) -> Any:
    return page.evaluate("sessionStorage.getItem('cabinet.token')")


def test_customer_journey_in_the_cabinet(served: tuple[str, str], browser: Any) -> None:
    base, _ = served
    staff = Staff(base)
    customer = staff.customer("Northwind Hosting", "it@northwind.example", credits=3)
    portal = staff.portal(customer["id"])
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    refused = _csp_violations(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    expect = sync_api.expect

    # Opens from the portal link; the token leaves the address bar.
    opened = page.goto(portal["url"])
    assert "script-src 'self';" in opened.headers["content-security-policy"]
    assert opened.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_test_id("balance")).to_contain_text("3")
    assert "token=" not in page.url
    expect(page.locator("#who")).to_have_text("Northwind Hosting")
    expect(page.get_by_test_id("history")).to_contain_text("Adjustment")
    _shot(page, "01-overview")

    # Buys a pack with the offline provider.
    page.get_by_role("link", name="Buy credits", exact=True).first.click()
    expect(page.locator("[data-page=buy]")).to_be_visible()
    _shot(page, "02-buy")
    page.locator("button[data-pack=five]").click()
    expect(page.locator("#alert")).to_contain_text("5 credits were added")
    expect(page.get_by_test_id("purchases")).to_contain_text("Paid")
    _shot(page, "03-bought")
    with page.expect_download() as download:
        page.get_by_role("button", name="Receipt").click()
    assert download.value.suggested_filename.startswith("receipt-2")
    with page.expect_download() as statement:
        page.goto(f"{base}/cabinet/#/")
        page.get_by_role("button", name="Download statement").click()
    assert "purchase" in Path(statement.value.path()).read_text()

    # A technical ticket, after being shown its price.
    page.goto(f"{base}/cabinet/#/tickets/new")
    page.get_by_text("Technical support", exact=True).click()
    expect(page.get_by_test_id("price")).to_contain_text("1 credit — you have 8")
    submit = page.get_by_role("button", name="Submit for 1 credit")
    expect(submit).to_be_visible()
    page.get_by_label("Subject").fill("Backups fail after the 5.2 update")
    page.get_by_label("Describe the problem").fill(
        "Since updating to 5.2 the nightly backup stops with 'disk quota exceeded'."
    )
    _shot(page, "04-new-ticket")
    submit.click()
    expect(page.locator("[data-page=ticket] h1")).to_have_text("Backups fail after the 5.2 update")
    ticket_id = page.url.rsplit("/", 1)[-1]

    # Follows it: an engineer answers, the customer replies and names it the most urgent.
    engineer = staff.post("/v1/api-keys", {"role": "engineer", "name": "Dana"})["key"]
    staff.post(
        f"/v1/tickets/{ticket_id}/messages",
        {"body": "Could you send the backup log from /var/log/backup.log?"},
        headers={"Authorization": f"Bearer {engineer}"},
    )
    page.reload()
    expect(page.get_by_test_id("thread")).to_contain_text("Could you send the backup log")
    page.get_by_label("Your reply").fill("Attached below: quota is 50 GB, the backup is 48 GB.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("thread")).to_contain_text("quota is 50 GB")
    # Seed 000: the newest ticket is the most urgent one until the customer names another.
    expect(page.locator("[data-page=ticket] .facts")).to_contain_text("Most urgent")
    _shot(page, "05-ticket")

    # Accepts a transfer an agent proposed.
    moved = staff.transfer_awaiting_consent(customer["id"])
    page.goto(f"{base}/cabinet/#/tickets")
    expect(page.get_by_test_id("tickets")).to_contain_text("Needs your approval")
    _shot(page, "06-tickets")
    page.get_by_text("Plugin stopped syncing orders").click()
    expect(page.get_by_test_id("transfer")).to_contain_text("you have 7")
    _shot(page, "07-transfer")
    page.get_by_role("button", name="Accept for 1 credit").click()
    expect(page.get_by_test_id("transfer")).to_have_count(0)
    expect(page.locator("[data-page=ticket] .facts")).to_contain_text("1 credit")

    # The transferred ticket is now the newest; the customer names the first one instead.
    page.goto(f"{base}/cabinet/#/tickets/{ticket_id}")
    page.get_by_role("button", name="Mark as most urgent").click()
    expect(page.locator("[data-page=ticket] .facts")).to_contain_text("Most urgent")
    _shot(page, "07b-urgent")
    page.goto(f"{base}/cabinet/#/tickets/{moved['id']}")
    expect(page.locator("[data-page=ticket] h1")).to_have_text("Plugin stopped syncing orders")

    # Closes a ticket.
    page.get_by_role("button", name="Close ticket").click()
    expect(page.locator("[data-page=ticket] .facts")).to_contain_text("Closed")

    # Low-balance alert.
    page.goto(f"{base}/cabinet/#/settings")
    page.get_by_label("E-mail me when my balance gets low").check()
    page.get_by_label("Alert when credits fall to").fill("2")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator("#alert")).to_have_text("Saved.")
    saved = staff.http.get(f"/v1/customers/{customer['id']}", headers=staff.admin).json()
    assert saved["low_balance_threshold"] == 2
    # Auto top-up: save a (test) card, then turn it on.
    page.get_by_role("button", name="Save a card").click()
    expect(page.locator("#alert")).to_have_text("Card saved.")
    expect(page.get_by_test_id("auto-top-up")).to_contain_text("•••• 4242")
    page.get_by_label("Top up automatically").check()
    page.get_by_label("Pack to buy").select_option("five")
    page.get_by_label("When credits fall to", exact=True).fill("1")
    page.get_by_test_id("auto-top-up").get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#alert")).to_have_text("Saved.")
    _shot(page, "08-settings")
    auto = staff.http.get(f"/v1/customers/{customer['id']}/auto-top-up", headers=staff.admin)
    assert auto.json()["enabled"] is True and auto.json()["pack"] == "five"

    # Balance and history after it all: 3 + 5 − 1 − 1; €40 spent towards a free credit.
    staff.post(f"/v1/customers/{customer['id']}/spend", {"amount": 4000, "reference": "inv-1"})
    page.goto(f"{base}/cabinet/#/")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "40")
    expect(page.get_by_test_id("balance")).to_contain_text("6")
    expect(page.get_by_test_id("history")).to_contain_text("Ticket charge")
    _shot(page, "08-overview-after")

    # Russian.
    page.get_by_role("button", name="RU").click()
    expect(page.get_by_role("link", name="Обзор")).to_be_visible()
    expect(page.get_by_test_id("history")).to_contain_text("Списание за обращение")
    assert page.evaluate("document.documentElement.lang") == "ru"
    _shot(page, "09-overview-ru")
    page.goto(f"{base}/cabinet/#/tickets/new")
    page.get_by_text("Техническая поддержка", exact=True).click()
    expect(page.get_by_test_id("price")).to_contain_text("1 кредит — у вас 6")
    _shot(page, "10-new-ticket-ru")

    # A phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    small = phone.new_page()
    small.goto(staff.portal(customer["id"])["url"])
    expect(small.get_by_test_id("balance")).to_contain_text("6")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    _shot(small, "11-overview-phone")
    _axe(small, "11-overview-phone")
    phone.close()
    context.close()
    assert refused == [], "the cabinet broke its own Content-Security-Policy"


def test_expired_and_foreign_sessions_are_refused(served: tuple[str, str], browser: Any) -> None:
    base, database = served
    staff = Staff(base)
    mine = staff.customer("Contoso", "it@contoso.example", credits=1)
    other = staff.customer("Fabrikam", "it@fabrikam.example", credits=9)
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.set_default_timeout(10_000)

    # A session of one customer pointed at another: the API answers 404, nothing shows.
    portal = staff.portal(mine["id"])
    page.goto(portal["url"].replace(mine["id"], other["id"]))
    expect(page.locator("[data-page=link-invalid]")).to_contain_text("We could not find this")
    expect(page.get_by_test_id("balance")).to_have_count(0)
    _shot(page, "12-foreign-session")
    _axe(page, "12-foreign-session")

    # An expired session (its expiry moved into the past in the database).
    portal = staff.portal(mine["id"])
    page.goto(portal["url"])
    expect(page.get_by_test_id("balance")).to_contain_text("1")
    _sql(database, "UPDATE api_keys SET expires_at = '2000-01-01Z' WHERE id = $1", portal["id"])
    page.reload()
    expect(page.locator("[data-page=session-ended]")).to_contain_text("Your session has ended")
    assert page.evaluate("sessionStorage.getItem('cabinet.token')") is None
    _shot(page, "13-session-ended")
    direct = httpx.get(
        f"{base}/v1/customers/{mine['id']}/balance",
        headers={"Authorization": f"Bearer {portal['token']}"},
    )
    assert direct.status_code == 401
    context.close()


def test_signing_out_ends_the_session(served: tuple[str, str], browser: Any) -> None:
    base, _ = served
    staff = Staff(base)
    customer = staff.customer("Litware", "it@litware.example", credits=2)
    portal = staff.portal(customer["id"])
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1000, "height": 700}, locale="en-GB")
    refused = _csp_violations(context)
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(portal["url"])
    expect(page.get_by_test_id("balance")).to_contain_text("2")
    sign_out = page.get_by_role("button", name="Sign out")
    sign_out.click()
    expect(page.locator("[data-page=signed-out]")).to_contain_text("You have signed out")
    expect(sign_out).to_be_hidden()
    expect(page.locator("#tabs")).to_be_hidden()
    assert _session_token(page) is None
    _shot(page, "14-signed-out")
    # Revoked on the server, not only forgotten here: the token is refused everywhere.
    bearer = {"Authorization": f"Bearer {portal['token']}"}
    direct = httpx.get(f"{base}/v1/customers/{customer['id']}/balance", headers=bearer)
    assert direct.status_code == 401
    page.goto(f"{base}/cabinet/#/buy")
    expect(page.locator("[data-page=signed-out]")).to_be_visible()
    page.reload()  # nothing left in the tab to come back with
    expect(page.locator("[data-page=session-ended]")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_count(0)

    # In Russian too.
    page.goto(staff.portal(customer["id"])["url"])
    page.get_by_role("button", name="RU").click()
    page.get_by_role("button", name="Выйти").click()
    expect(page.locator("[data-page=signed-out]")).to_contain_text("Вы вышли из кабинета")
    _shot(page, "15-signed-out-ru")
    context.close()
    assert refused == []


def test_a_link_for_another_customer_asks_before_switching(
    served: tuple[str, str], browser: Any
) -> None:
    base, _ = served
    staff = Staff(base)
    mine = staff.customer("Tailspin Toys", "it@tailspin.example", credits=4)
    theirs = staff.customer("Wingtip Traders", "it@wingtip.example", credits=9)
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1000, "height": 700}, locale="en-GB")
    refused = _csp_violations(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    balance, who = page.get_by_test_id("balance"), page.locator("#who")
    prompt = page.locator("[data-page=switch]")

    own = staff.portal(mine["id"])
    page.goto(own["url"])
    expect(balance).to_contain_text("4")
    # Someone sends the customer a link to their own account.
    planted = staff.portal(theirs["id"])
    page.goto(planted["url"])
    expect(prompt).to_contain_text("You are signed in as Tailspin Toys")
    expect(prompt).to_contain_text("Wingtip Traders")
    expect(balance).to_have_count(0)
    assert "token=" not in page.url
    # Staying is the default: its button has the focus, Enter stays.
    stay = page.get_by_role("button", name="Stay as Tailspin Toys")
    expect(stay).to_be_focused()
    expect(page.get_by_role("button", name="Switch to Wingtip Traders")).to_be_visible()
    _shot(page, "16-switch-prompt")
    page.keyboard.press("Enter")
    expect(balance).to_contain_text("4")
    expect(who).to_have_text("Tailspin Toys")
    assert _session_token(page) == own["token"]

    # The same link put into the open page (only the fragment changes): asked again; Escape
    # stays too.
    page.evaluate("link => { location.hash = link.split('#')[1]; }", planted["url"])
    expect(prompt).to_be_visible()
    page.keyboard.press("Escape")
    expect(balance).to_contain_text("4")
    assert _session_token(page) == own["token"]

    # Switched only when the customer says so.
    page.goto(planted["url"])
    page.get_by_role("button", name="Switch to Wingtip Traders").click()
    expect(balance).to_contain_text("9")
    expect(who).to_have_text("Wingtip Traders")
    assert _session_token(page) == planted["token"]

    # A new link of the signed-in customer just refreshes the token, without asking.
    fresh = staff.portal(theirs["id"])
    page.goto(fresh["url"])
    expect(balance).to_contain_text("9")
    expect(prompt).to_have_count(0)
    assert _session_token(page) == fresh["token"]

    # In Russian.
    page.get_by_role("button", name="RU").click()
    page.goto(staff.portal(mine["id"])["url"])
    expect(prompt).to_contain_text("Вы вошли как Wingtip Traders")
    expect(page.get_by_role("button", name="Остаться: Wingtip Traders")).to_be_focused()
    _shot(page, "17-switch-prompt-ru")
    context.close()
    assert refused == []


def _sql(url: str, statement: str, *args: Any) -> None:
    """One statement on a connection of its own, run in a thread: the sync Playwright API
    keeps an event loop in this one."""

    async def run() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            await conn.execute(statement, *args)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


# What each language shows: the page's own words, the cabinet's text for a problem code
# (never the API's English `detail`), and a Russian plural.
SAYS = {
    "en": {
        "overview": "Overview", "tickets": "Tickets", "buy": "Buy credits", "settings": "Settings",
        "technical": "Technical support", "subject": "Subject", "body": "Describe the problem",
        "submit": "Submit for 1 credit", "no_credit": "You have no credits left for a "
        "technical-support ticket", "transfer": "Move to technical support?",
        "credits": "5 credits", "signout": "Sign out", "signed_out": "You have signed out",
        "other": "RU", "switched": "Кабинет теперь на русском языке.",
    },
    "ru": {
        "overview": "Обзор", "tickets": "Обращения", "buy": "Купить кредиты",
        "settings": "Настройки", "technical": "Техническая поддержка", "subject": "Тема",
        "body": "Опишите проблему", "submit": "Отправить за 1 кредит",
        "no_credit": "Для обращения в техническую поддержку не хватает кредитов",
        "transfer": "Передать в техническую поддержку?", "credits": "5 кредитов",
        "signout": "Выйти", "signed_out": "Вы вышли из кабинета", "other": "EN",
        "switched": "The cabinet is now in English.",
    },
}  # fmt: skip


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_every_page_in_the_customers_language_passes_axe(
    served: tuple[str, str], browser: Any, locale: str
) -> None:
    base, _ = served
    staff = Staff(base)
    says = SAYS[locale]
    name = {"en": "Blue Yonder Airlines", "ru": "Ромашка Хостинг"}[locale]
    customer = staff.customer(name, f"it-{locale}@languages.example", credits=2)
    response = staff.http.patch(
        f"/v1/customers/{customer['id']}", json={"locale": locale}, headers=staff.admin
    )
    assert response.status_code == 200, response.text
    # The browser says English: the customer's locale decides.
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    refused = _csp_violations(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    expect = sync_api.expect

    def visit(shot: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        _shot(page, f"lang-{locale}-{shot}")
        _axe(page, f"lang-{locale}-{shot}")

    page.goto(staff.portal(customer["id"])["url"])
    expect(page.get_by_test_id("balance")).to_contain_text("2")
    assert page.evaluate("document.documentElement.lang") == locale
    expect(page.get_by_role("link", name=says["overview"], exact=True)).to_be_visible()
    page.locator("button[data-lang]").first.wait_for()
    page.goto(f"{base}/cabinet/#/buy")
    page.locator("button[data-pack=five]").click()
    expect(page.get_by_test_id("purchases")).to_contain_text(says["credits"])
    visit("02-buy")
    page.goto(f"{base}/cabinet/#/")
    expect(page.get_by_test_id("history")).to_be_visible()
    visit("01-overview")

    # A technical ticket, and the transfer of another that awaits the customer's consent.
    page.goto(f"{base}/cabinet/#/tickets/new")
    page.get_by_text(says["technical"], exact=True).click()
    page.get_by_label(says["subject"]).fill("Mail server rejects TLS 1.3 after the update")
    page.get_by_label(says["body"]).fill("Since 5.2 clients get 'handshake failure'.")
    visit("03-new-ticket")
    page.get_by_role("button", name=says["submit"]).click()
    expect(page.locator("[data-page=ticket] h1")).to_have_text(
        "Mail server rejects TLS 1.3 after the update"
    )
    moved = staff.transfer_awaiting_consent(customer["id"], note="This needs an engineer.")
    page.goto(f"{base}/cabinet/#/tickets")
    expect(page.get_by_test_id("tickets")).to_contain_text("Plugin stopped syncing orders")
    visit("04-tickets")
    page.goto(f"{base}/cabinet/#/tickets/{moved['id']}")
    expect(page.get_by_test_id("transfer")).to_contain_text(says["transfer"])
    visit("05-ticket-transfer")
    page.goto(f"{base}/cabinet/#/settings")
    expect(page.get_by_test_id("auto-top-up")).to_be_visible()
    visit("06-settings")

    # A problem answer in the cabinet's words for its code: no credits left.
    staff.post(f"/v1/customers/{customer['id']}/adjustments",
               {"credits": -6, "reason": "used elsewhere"})  # fmt: skip
    page.goto(f"{base}/cabinet/#/tickets/new")
    page.get_by_text(says["technical"], exact=True).click()
    page.get_by_label(says["subject"]).fill("Backups fail after the 5.2 update")
    page.get_by_label(says["body"]).fill("The nightly backup stops with 'disk quota exceeded'.")
    page.get_by_role("button", name=says["submit"]).click()
    expect(page.locator("#alert")).to_contain_text(says["no_credit"])
    assert "packs" not in page.locator("#alert").inner_text()  # not the API's detail
    visit("07-problem")

    # The switch sets the customer's language, for the cabinet and for the mail.
    other = "ru" if locale == "en" else "en"
    page.get_by_role("button", name=says["other"]).click()
    expect(page.locator("#alert")).to_have_text(says["switched"])
    assert page.evaluate("document.documentElement.lang") == other
    saved = staff.http.get(f"/v1/customers/{customer['id']}", headers=staff.admin).json()
    assert saved["locale"] == other
    page.get_by_role("button", name=SAYS[other]["other"]).click()  # and back
    expect(page.locator("#alert")).to_have_text(SAYS[other]["switched"])
    expect(page.get_by_role("link", name=says["overview"], exact=True)).to_be_visible()
    saved = staff.http.get(f"/v1/customers/{customer['id']}", headers=staff.admin).json()
    assert saved["locale"] == locale

    # The prompt for another customer's link, then signed out.
    page.goto(staff.portal(staff.customer("Wingtip", f"w-{locale}@languages.example")["id"])["url"])
    expect(page.locator("[data-page=switch]")).to_be_visible()
    visit("08-switch-prompt")
    page.keyboard.press("Enter")
    page.get_by_role("button", name=says["signout"]).click()
    expect(page.locator("[data-page=signed-out]")).to_contain_text(says["signed_out"])
    visit("09-signed-out")
    page.reload()
    expect(page.locator("[data-page=session-ended]")).to_be_visible()
    visit("10-session-ended")
    context.close()
    assert refused == [], "the cabinet broke its own Content-Security-Policy"
