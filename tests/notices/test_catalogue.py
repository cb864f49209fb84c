"""Every notice text has its Russian translation, with the same placeholders, and every
plural its three Russian forms."""

from __future__ import annotations

import string

from babel.messages.pofile import read_po

from app.kit.i18n import DEFAULT_LOCALE, LOCALES_DIR, SUPPORTED_LOCALES
from app.notices import texts


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_notice_text_is_translated_with_its_placeholders() -> None:
    for locale in SUPPORTED_LOCALES:
        if locale == DEFAULT_LOCALE:
            continue
        with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{texts.DOMAIN}.po").open("rb") as po:
            catalog = read_po(po, locale=locale)
        nplurals = catalog.num_plurals
        for message in texts.MESSAGES:
            found = catalog.get(message)
            assert found is not None and found.string and not found.fuzzy, (locale, message)
            assert _placeholders(found.string) == _placeholders(message), (locale, message)
        for singular, plural in texts.PLURALS:
            found = catalog.get(singular)
            assert found is not None and found.id == (singular, plural), (locale, singular)
            forms = found.string
            assert isinstance(forms, tuple) and len(forms) == nplurals and all(forms)
            for form in forms:
                assert _placeholders(form) == _placeholders(plural), (locale, form)
        used = set(texts.MESSAGES) | {s for s, _ in texts.PLURALS}
        assert {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id} == used


def test_russian_plurals_agree_with_the_number() -> None:
    w = texts.Writer("ru")
    forms = [w.plural(texts.BALANCE_NOW, n) for n in (1, 2, 5, 11, 21, 22, 25)]
    assert [f.removeprefix("Теперь на вашем балансе ") for f in forms] == [
        "1 кредит.", "2 кредита.", "5 кредитов.", "11 кредитов.", "21 кредит.", "22 кредита.",
        "25 кредитов.",
    ]  # fmt: skip
    assert texts.Writer("ru-RU").locale == "ru" and texts.Writer("de").locale == "en"
