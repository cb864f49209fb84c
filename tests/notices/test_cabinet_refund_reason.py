"""The cabinet says why a ticket's credit came back ("1 credit · refunded — product bug
BUG-123"), in English and Russian: Debian's Chromium, as tests/cabinet/test_browser.py runs
it (skipped, saying why, without it)."""

from __future__ import annotations

from typing import Any

from tests.cabinet.test_browser import (  # noqa: F401 (fixtures)
    Staff,
    browser,
    served,
    sync_api,
)


def test_a_refunded_ticket_shows_its_reason_in_both_languages(
    served: tuple[str, str],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    base, _ = served
    staff = Staff(base)
    customer = staff.customer("Refund Reasons Ltd", "it@reasons.example", credits=2)
    portal = staff.portal(customer["id"])
    own = {"Authorization": f"Bearer {portal['token']}"}
    tickets = [
        staff.post(
            "/v1/tickets",
            {"line": "technical", "subject": subject, "body": "Since the 5.2 update."},
            headers=own,
        )
        for subject in ("Installer crashes on Debian 12", "Configure our office printer")
    ]
    bug, scope = tickets
    staff.post(f"/v1/tickets/{bug['id']}/bug-confirmation", {"bug_reference": "BUG-123"})
    staff.post(f"/v1/tickets/{scope['id']}/out-of-scope", {"reason": "printers are not ours"})

    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    expect = sync_api.expect
    page.goto(portal["url"])
    expect(page.get_by_test_id("balance")).to_contain_text("2")
    facts = page.locator("[data-page=ticket] .facts")
    page.goto(f"{base}/cabinet/#/tickets/{bug['id']}")
    expect(facts).to_contain_text("1 credit · refunded — product bug BUG-123")
    page.goto(f"{base}/cabinet/#/tickets/{scope['id']}")
    expect(facts).to_contain_text("1 credit · refunded — not a technical-support matter")

    page.locator("[data-lang=ru]").first.click()
    expect(facts).to_contain_text("1 кредит · возвращено — не вопрос технической поддержки")
    page.goto(f"{base}/cabinet/#/tickets/{bug['id']}")
    expect(facts).to_contain_text("1 кредит · возвращено — ошибка в продукте BUG-123")
    context.close()
