"""The cabinet's texts: every key its script and page use is in the catalogue
(app/locales/cabinet.pot), every one of them translated into Russian (not fuzzy, the same
placeholders, three plural forms), every problem code the API can answer has the cabinet's
own text, and the server hands the script exactly that as JSON."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from app.cabinet import messages
from app.desk.models import Line, RefundReason, Status
from app.kit import error_catalogue, i18n
from billing.models import PurchaseStatus
from credits.schemas import EntryKind, LotSource
from tests.conftest import Api

STATIC = Path(messages.__file__).with_name("static")
SCRIPT = (STATIC / "app.js").read_text(encoding="utf-8")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def used_keys() -> set[str]:
    """Literal keys: `t("key")`, `t("key", {…})`, `data-i18n="key"`, the form fields' labels."""
    keys = set(re.findall(r"\bt\(\"([\w.]+)\"\s*[,)]", SCRIPT))
    keys |= set(re.findall(r'data-i18n="([\w.]+)"', (STATIC / "index.html").read_text()))
    fields = re.search(r"var FIELDS = \{(.*?)\};", SCRIPT, re.S)
    assert fields is not None
    keys |= set(re.findall(r':\s*"([\w.]+)"', fields.group(1)))
    return keys


def dynamic_keys() -> set[str]:
    """Keys made from a value the API answers (`t("status." + status)`): one per value."""
    families = {
        "status.": [s.value for s in Status],
        "line.": [v.value for v in Line],
        "kind.": [k.value for k in EntryKind],
        "source.": [s.value for s in LotSource],
        "pstatus.": [s.value for s in PurchaseStatus],
        "sev.": ["1", "2", "3", "4"],
        "error.": sorted(error_catalogue.collect()),
    }
    for prefix in families:
        assert f'"{prefix}" +' in SCRIPT, f"the script no longer builds {prefix}… keys"
    keys = {prefix + value for prefix, values in families.items() for value in values}
    if '"refund." +' in SCRIPT:  # the refund reasons, where the script shows them
        keys |= {f"refund.{r.value}" for r in RefundReason}
    return keys


def test_every_key_the_cabinet_uses_is_in_the_catalogue() -> None:
    known = set(messages.english())
    assert len(used_keys()) > 120
    assert not used_keys() - known, sorted(used_keys() - known)
    assert not dynamic_keys() - known, sorted(dynamic_keys() - known)


def test_every_text_has_a_russian_translation() -> None:
    path = i18n.LOCALES_DIR / "ru" / "LC_MESSAGES" / "cabinet.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale="ru", domain="cabinet")
    assert catalog.num_plurals == 3
    by_key = {m.context: m for m in catalog if m.id}
    problems = []
    for key, english in messages.english().items():
        message = by_key.get(key)
        if message is None:
            problems.append(f"missing: {key}")
            continue
        forms = list(message.string) if isinstance(message.string, tuple) else [message.string]
        if message.fuzzy or not all(forms):
            problems.append(f"fuzzy or untranslated: {key}")
        if (list(message.id) if isinstance(message.id, tuple) else message.id) != english:
            problems.append(f"translated from another English text: {key}")
        if isinstance(english, list) and len(forms) != 3:
            problems.append(f"{key}: Russian needs 3 plural forms, has {len(forms)}")
        wanted = set(PLACEHOLDER.findall(english if isinstance(english, str) else english[1]))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) != wanted:
                problems.append(f"{key}: placeholders {wanted} in {form!r}")
    assert not problems, "\n".join(problems)
    assert messages.messages("ru").keys() == messages.english().keys()


async def test_the_server_hands_the_script_each_languages_texts(api: Api) -> None:
    for locale in i18n.SUPPORTED_LOCALES:
        response = await api.client.get(f"/cabinet/messages.{locale}.json")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.json() == messages.messages(locale)
    ru = (await api.client.get("/cabinet/messages.ru.json")).json()
    assert ru["nav.overview"] == "Обзор"
    assert ru["buy.credits"] == ["{n} кредит", "{n} кредита", "{n} кредитов"]
    assert "Buy a pack" in messages.english()["error.insufficient_credits"]
    assert "packs" not in messages.english()["error.insufficient_credits"]  # not the API's detail
