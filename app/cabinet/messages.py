"""The cabinet's texts, in gettext catalogues like every customer text (app.kit.i18n):
`app/locales/cabinet.pot` holds the English (msgctxt: the key the script uses, msgid: the
text), `app/locales/<locale>/LC_MESSAGES/cabinet.po` each translation. The script reads them
as JSON, `/cabinet/messages.<locale>.json`: `{key: text}`, or `{key: [forms…]}` for a plural
(the script picks the form with `Intl.PluralRules`). A translation that is fuzzy, empty, or
made for another English text than the template's is left out: the script then shows the
English."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from app.kit.i18n import DEFAULT_LOCALE, LOCALES_DIR, SUPPORTED_LOCALES

TEMPLATE = LOCALES_DIR / "cabinet.pot"
Text = str | list[str]


def _read(path: Path, locale: str | None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale, domain="cabinet")


def _text(value: str | tuple[str, ...] | list[str]) -> Text:
    return value if isinstance(value, str) else list(value)


@cache
def english() -> dict[str, Text]:
    return {str(m.context): _text(m.id) for m in _read(TEMPLATE, None) if m.id and m.context}


@cache
def messages(locale: str) -> dict[str, Text]:
    """The texts of `locale` by key (English: all of them; another: those translated)."""
    source = english()
    if locale == DEFAULT_LOCALE:
        return source
    found: dict[str, Text] = {}
    for message in _read(LOCALES_DIR / locale / "LC_MESSAGES" / "cabinet.po", locale):
        key = str(message.context)
        if not message.id or message.fuzzy or source.get(key) != _text(message.id):
            continue
        text = _text(message.string or "")
        if text and all(text if isinstance(text, list) else [text]):
            found[key] = text
    return found


def files() -> dict[str, bytes]:
    """`messages.<locale>.json` for every supported locale, as the cabinet serves them."""
    return {
        f"messages.{locale}.json": json.dumps(messages(locale), ensure_ascii=False).encode()
        for locale in SUPPORTED_LOCALES
    }
