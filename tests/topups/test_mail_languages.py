"""The top-up feature's mails (low balance, declined auto top-up, receipts) in the
customer's language, with plural forms and amounts as the language writes them."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from app.kit.auth import Role
from app.topups.receipts import mail_receipts
from tests.conftest import Api
from tests.topups.test_auto_top_up import _balance, _enable, _run
from tests.topups.test_auto_top_up import _ticket as _tech_ticket
from tests.topups.test_receipts import _buy

MAILS = "SELECT subject, body, locale FROM email_outbox WHERE kind = :kind ORDER BY seq"


async def test_low_balance_mail_in_russian_declines_credits(api: Api, run_sql: Any) -> None:
    customer = await api.customer(name="Ромашка", low_balance_threshold=2, locale="ru")
    key = await api.key(Role.customer, customer["id"])
    await api.grant(customer["id"], 3)
    for n in (1, 2, 3):  # 2: crossed; 0
        assert await _tech_ticket(api, key, n) == 201
    [(subject, body, locale)] = await run_sql(MAILS, kind="low_balance")
    assert locale == "ru"
    assert subject == "На вашем счёте поддержки мало кредитов: осталось 2 кредита"
    assert body.startswith("Здравствуйте, Ромашка!\n\nНа вашем предоплаченном счёте поддержки "
                           "осталось 2 кредита (уведомление настроено на 2).")  # fmt: skip
    assert "Изменить или отключить это уведомление" in body


async def test_low_balance_in_english_says_one_credit(api: Api, run_sql: Any) -> None:
    customer = await api.customer(low_balance_threshold=1)
    key = await api.key(Role.customer, customer["id"])
    await api.grant(customer["id"], 2)
    assert await _tech_ticket(api, key, 1) == 201
    [(subject, body, locale)] = await run_sql(MAILS, kind="low_balance")
    assert (subject, locale) == ("Your support balance is low: 1 credit left", "en")
    assert "has fallen to 1 credit (your alert is set at 1)" in body


async def test_declined_auto_top_up_mail_in_russian(api: Api, run_sql: Any) -> None:
    customer = await api.customer(locale="ru")
    own = await api.key(Role.customer, customer["id"])
    await api.grant(customer["id"], 20)
    await _enable(api, customer["id"], own, card="decline", threshold=18)
    n = 0
    for _ in range(3):
        while await _balance(api, customer["id"]) > 18:
            n += 1
            assert await _tech_ticket(api, own, n) == 201
        assert await _run(api) == 1
        await api.grant(customer["id"], 1)
    mails = await run_sql(MAILS, kind="auto_top_up_failed")
    assert [(s, loc) for s, _, loc in mails] == [
        ("Автопополнение не удалось: карта отклонена", "ru")
    ] * 3
    assert "Мы попытались купить пакет кредитов «five»" in mails[0][1]
    assert "автопополнение отключено" not in mails[1][1]
    assert "После 3 отклонённых платежей подряд автопополнение отключено" in mails[2][1]


async def test_receipt_mail_in_russian(api: Api, run_sql: Any) -> None:
    api.app.state.settings = api.app.state.settings.model_copy(
        update={"vat_rate": Decimal("0.19"), "receipt_seller_name": "ООО «Кредитдеск»",
                "receipt_seller_address": "Berlin, Germany", "receipt_seller_tax_id": "DE123",
                "cabinet_url": "https://cabinet.example"}
    )  # fmt: skip
    customer = await api.customer(name="Ромашка Хостинг", email="it@romashka.example", locale="ru")
    english = await api.customer(name="Northwind", email="it@northwind.example")
    for buyer in (customer, english):
        purchase = await _buy(api, buyer["id"], await api.key(Role.customer, buyer["id"]))
        assert purchase["status"] == "succeeded"
    assert await mail_receipts(api.db, api.app.state.settings, api.clock.now()) == 2
    [(ru_subject, ru, ru_locale), (en_subject, en, en_locale)] = await run_sql(
        MAILS, kind="receipt"
    )
    assert (ru_subject, ru_locale) == ("Ваш чек 2026-000001", "ru")
    assert ru.startswith("Здравствуйте, Ромашка Хостинг!\n\nСпасибо за покупку. Ваш чек:")
    for line in (
        "Кредиты поддержки: 5 × обращение в техническую поддержку (пакет «five»)",
        "Без НДС: 84,03\xa0€",
        "НДС (19%): 15,97\xa0€",
        "Итого: 100,00\xa0€ (включая НДС)",
        "Продавец:\nООО «Кредитдеск»\nBerlin, Germany\nИНН / VAT ID: DE123",
        "Ваши чеки — в личном кабинете: https://cabinet.example",
    ):
        assert line in ru, (line, ru)
    assert re.search(r"Чек № 2026-000001 от \d+ [а-я]+ 2026\s?г\.", ru)  # a Russian long date
    assert (en_subject, en_locale) == ("Your receipt 2026-000002", "en")
    assert "Net: €84.03" in en and "VAT (19%): €15.97" in en
    assert "Total: €100.00 (VAT included)" in en
