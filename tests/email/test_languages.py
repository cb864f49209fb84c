"""Every mail in the customer's language: the `mail` catalogue is complete for Russian, and
answers, refusals and staff replies are written in the customer's locale (an unknown
sender's: its mail's Content-Language, else English), with a Content-Language header."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.email.outbox import send_due
from app.kit import i18n
from app.settings import Settings
from tests.email.conftest import TECH, Mailbox, Relay, mail

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app", ROOT / "billing", ROOT / "credits"]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def mail_ids() -> dict[str | tuple[str, str], str]:
    """Every message id written in code as `translate(locale, "…", "mail")` or
    `translate_plural(locale, "…", "…", n, "mail")`, with where it is."""
    found: dict[str | tuple[str, str], str] = {}
    for folder in SOURCES:
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                    continue
                name, args = node.func.id, node.args
                domain_at = {"translate": 2, "translate_plural": 4}.get(name)
                if domain_at is None or len(args) <= domain_at:
                    continue
                domain = args[domain_at]
                if not (isinstance(domain, ast.Constant) and domain.value == "mail"):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                ids = args[1:domain_at] if name == "translate" else args[1:3]
                assert all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in ids), (
                    f"{where}: a mail message id must be a literal, so it can be checked"
                )
                values = [a.value for a in ids if isinstance(a, ast.Constant)]
                found[values[0] if name == "translate" else (values[0], values[1])] = where
    return found


def test_every_mail_message_in_code_has_a_russian_translation() -> None:
    ids = mail_ids()
    assert len(ids) > 40, "the scan finds the mail texts"
    path = i18n.LOCALES_DIR / "ru" / "LC_MESSAGES" / "mail.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale="ru", domain="mail")
    assert catalog.num_plurals == 3
    problems = []
    for msgid, where in ids.items():
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r} ({where})")
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            problems.append(f"fuzzy or untranslated: {msgid!r} ({where})")
        wanted = set(PLACEHOLDER.findall(msgid if isinstance(msgid, str) else msgid[1]))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) - wanted - {"n"}:
                problems.append(f"a placeholder the code does not fill: {form!r}")
            if not wanted - {"n"} <= set(PLACEHOLDER.findall(form)):
                problems.append(f"a placeholder dropped: {form!r} for {msgid!r}")
    unused = [
        m.id
        for m in catalog
        if m.id and (m.id if isinstance(m.id, str) else tuple(m.id)) not in ids
    ]
    assert not problems, "\n".join(problems)
    assert not unused, f"translations no code uses: {unused}"


@pytest.mark.parametrize(
    ("n", "form"),
    [(1, "остался 1 кредит"), (3, "осталось 3 кредита"), (5, "осталось 5 кредитов"),
     (11, "осталось 11 кредитов"), (22, "осталось 22 кредита")],
)  # fmt: skip
def test_russian_mail_declines_credits(n: int, form: str) -> None:
    text = i18n.translate_plural(
        "ru", "Your support balance is low: {n} credit left",
        "Your support balance is low: {n} credits left", n, "mail",
    )  # fmt: skip
    assert text.endswith(form)


async def test_a_russian_customers_auto_reply_is_in_russian_with_content_language(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    await box.customer(credits=2, locale="ru")
    # The customer's locale decides, whatever the mail itself says.
    result = await box.post(
        mail(to=TECH, subject="Плеер показывает ошибку 403", Content_Language="en")
    )
    assert result["outcome"] == "created"
    [reply] = await box.outbox()
    assert reply.locale == "ru"
    assert reply.body.startswith(f"Здравствуйте!\n\nВаш запрос получен и зарегистрирован как "
                                 f"обращение №{result['ticket_number']}")  # fmt: skip
    assert "списан 1 кредит" in reply.body
    assert "https://cabinet.desk.test" in reply.body
    assert "Служба поддержки CreditDesk" in reply.body

    # A refusal for the same customer: no credit left after two tickets.
    await box.post(mail(to=TECH, subject="Сервер не стартует после обновления"))
    refused = await box.post(mail(to=TECH, subject="Не работает резервное копирование"))
    assert refused["outcome"] == "refused_no_credit"
    last = (await box.outbox())[-1]
    assert last.subject == "Не зарегистрировано: Не работает резервное копирование"
    assert "на вашем счёте кредитов нет" in last.body
    assert re.search(r"- \w+: 1 кредит за 30,00\xa0€", last.body), last.body
    assert re.search(r"- \w+: 5 кредитов за 100,00\xa0€", last.body), last.body

    relay.start()
    assert await send_due(box.api.db, settings, box.api.clock.now()) == 3
    assert {m["Content-Language"] for m in relay.received} == {"ru"}
    assert all("Здравствуйте" in m.get_content() for m in relay.received)


async def test_an_english_customer_gets_english_whatever_the_mail_says(
    box: Mailbox, relay: Relay, settings: Settings
) -> None:
    await box.customer(credits=1)
    result = await box.post(mail(subject="Player shows error 403", Content_Language="ru"))
    assert result["outcome"] == "created"
    [reply] = await box.outbox()
    assert reply.locale == "en"
    assert reply.body.startswith("Hello,\n\nyour request was received and registered")
    relay.start()
    assert await send_due(box.api.db, settings, box.api.clock.now()) == 1
    assert relay.received[0]["Content-Language"] == "en"


@pytest.mark.parametrize(
    ("header", "locale", "says"),
    [
        ("ru", "ru", "не указан как контакт ни у одного из наших клиентов"),
        ("ru-RU, en", "ru", "не указан как контакт"),
        ("de", "en", "is not a known contact of any of our customers"),
        (None, "en", "is not a known contact of any of our customers"),
    ],
)
async def test_an_unknown_sender_is_answered_in_the_language_its_mail_names(
    box: Mailbox, header: str | None, locale: str, says: str
) -> None:
    headers = {"Content_Language": header} if header else {}
    result = await box.post(mail(sender="stranger@elsewhere.example", **headers))
    assert result["outcome"] == "refused_unknown_sender"
    [reply] = await box.outbox()
    assert (reply.locale, reply.recipient) == (locale, "stranger@elsewhere.example")
    assert says in reply.body


async def test_refusals_in_russian_say_why_without_the_apis_english(box: Mailbox) -> None:
    await box.customer(locale="ru")
    too_many = mail(subject="Журналы установки за неделю")
    for n in range(4):
        too_many.add_attachment(b"x", maintype="text", subtype="plain", filename=f"log{n}.txt")
    vague = mail(subject="помогите")
    empty = mail(subject="Установщик падает на шаге 3", body=" ")
    assert (await box.post(too_many))["outcome"] == "refused_too_large"
    assert (await box.post(vague))["outcome"] == "refused_subject"
    [large, subject] = await box.outbox()
    assert "в нём 4 вложения" in large.body and "It goes over" not in large.body
    assert "Из темы письма не понятно" in subject.body
    assert subject.subject == "Не зарегистрировано: помогите"
    await box.post(empty)
    third = (await box.outbox())[-1]
    assert third.locale == "ru"
    assert "The body" not in third.body and "Здравствуйте" in third.body


async def test_a_staff_reply_is_signed_in_the_customers_language(box: Mailbox) -> None:
    customer_id = await box.customer(locale="ru")
    result = await box.post(mail(subject="Плеер показывает ошибку 403"))
    agent = await box.api.key("cr_agent")
    response = await box.client.post(
        f"/v1/tickets/{result['ticket_id']}/messages", json={"body": "Обновите плеер до 2.2."},
        headers=agent,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    reply = (await box.outbox(kind="staff_reply"))[0]
    assert reply.locale == "ru"
    assert reply.body.startswith("Обновите плеер до 2.2.\n\n-- \nСлужба поддержки CreditDesk.")
    assert customer_id
