"""app.kit.i18n: locale tags, Accept-Language, and a PO catalogue compiled in memory."""

from __future__ import annotations

import uuid

import pytest

from app.kit import i18n

RU_PLURALS = (
    '"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 '
    '&& (n%100<10 || n%100>=20) ? 1 : 2);\\n"'
)


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("RU_ru", "ru"),
        ("en-GB", "en"),
        ("de", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_a_tag_is_normalised_to_a_supported_locale(tag: str | None, locale: str) -> None:
    assert i18n.normalise(tag) == locale


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-DE,ru;q=0.8,en;q=0.5", "ru"),
        ("en-GB,ru", "en"),
        ("ru;q=0.4, en;q=0.9", "en"),
        ("ru;q=0", "en"),
        ("ru;q=banana", "en"),
        (None, "en"),
    ],
)
def test_accept_language_picks_the_best_supported_locale(header: str | None, locale: str) -> None:
    assert i18n.negotiate(header) == locale


def test_a_catalogue_translates_fills_placeholders_and_knows_russian_plurals() -> None:
    domain = f"test_{uuid.uuid4().hex}"
    path = i18n.LOCALES_DIR / "ru" / "LC_MESSAGES" / f"{domain}.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        f"{RU_PLURALS}\n\n"
        'msgid "Hello {name}"\nmsgstr "Привет, {name}"\n\n'
        'msgid "{n} credit"\nmsgid_plural "{n} credits"\n'
        'msgstr[0] "{n} кредит"\nmsgstr[1] "{n} кредита"\nmsgstr[2] "{n} кредитов"\n',
        encoding="utf-8",
    )
    try:
        assert i18n.translate("ru-RU", "Hello {name}", domain, name="Иван") == "Привет, Иван"
        assert i18n.translate("en", "Hello {name}", domain, name="Ivan") == "Hello Ivan"
        assert i18n.translate("ru", "Not in the catalogue", domain) == "Not in the catalogue"
        forms = [
            i18n.translate_plural("ru", "{n} credit", "{n} credits", n, domain)
            for n in (1, 3, 5, 11, 21)
        ]
        assert forms == ["1 кредит", "3 кредита", "5 кредитов", "11 кредитов", "21 кредит"]
        assert i18n.translate_plural("en", "{n} credit", "{n} credits", 2, domain) == "2 credits"
    finally:
        path.unlink()
