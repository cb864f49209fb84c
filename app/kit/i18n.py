"""Languages: one catalogue per text domain and locale, in gettext's PO format (Babel).

Every text a customer reads (mail, notices, the cabinet's server-side strings) is written in
code in English as a message id and translated through `translate(locale, msgid)`. The
catalogues are PO files under `app/locales/<locale>/LC_MESSAGES/<domain>.po`, read with
Babel and compiled in memory on first use, so there is no build step and no `.mo` file in
the tree. A domain per area (`mail`, `notices`, …) keeps translators' files small and lets
features add their texts without touching each other's.

English is the source language: its catalogue may be empty, the message id is the text.
A locale this service does not speak falls back to `DEFAULT_LOCALE`; a message missing from
a catalogue falls back to its English id (a test checks that none is missing).

Extract new messages with `pybabel extract -k _ -k N_ -o /tmp/x.pot app` and merge them
into the PO files (`pybabel update -D <domain> -i /tmp/x.pot -d app/locales`).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED_LOCALES: Final = ("en", "ru")
DEFAULT_LOCALE: Final = "en"
LOCALES_DIR: Final = Path(__file__).resolve().parent.parent / "locales"


def N_(message: str) -> str:
    """Mark a message id for extraction where it is defined, translated later."""
    return message


def normalise(locale: str | None) -> str:
    """The supported locale for a tag such as `ru`, `ru-RU` or `RU_ru`; else the default."""
    if not locale:
        return DEFAULT_LOCALE
    language = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


def negotiate(accept_language: str | None) -> str:
    """The best supported locale for an HTTP `Accept-Language` header (RFC 9110 12.5.4)."""
    best, best_q = DEFAULT_LOCALE, -1.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        language = tag.replace("_", "-").split("-", 1)[0].strip().lower()
        if language in SUPPORTED_LOCALES and q > 0 and q - position * 1e-6 > best_q:
            best, best_q = language, q - position * 1e-6
    return best


@cache
def translations(locale: str, domain: str) -> gettext.NullTranslations:
    """The compiled catalogue of one domain in one locale (English: the ids themselves)."""
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(locale: str | None, message: str, domain: str, **params: object) -> str:
    """`message` in `locale` (normalised), with `{name}` placeholders filled from `params`."""
    text = translations(normalise(locale), domain).gettext(message)
    return text.format(**params) if params else text


def translate_plural(
    locale: str | None, singular: str, plural: str, n: int, domain: str, **params: object
) -> str:
    """The form for `n` in `locale` (Russian has three), placeholders filled; `n` is `{n}`."""
    text = translations(normalise(locale), domain).ngettext(singular, plural, n)
    return text.format(n=n, **params)
