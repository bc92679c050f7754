"""Translations: English source strings, catalogues in `locales/` read with Babel at start-up.

The `.po` files are the catalogues people edit; Babel compiles them in memory, so there is no
`.mo` build step to forget on install.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "groupops"
DEFAULT_LOCALE = "en"
SUPPORTED = ("en", "zh_Hans", "ru")
# Each language by its own name (never translated), so anyone can find theirs.
NATIVE_NAMES = {"en": "English", "zh_Hans": "简体中文", "ru": "Русский"}


def pick_locale(language_code: str | None, fallback: str = DEFAULT_LOCALE) -> str:
    """The catalogue for a Telegram language code (IETF tag like "zh-hans", "zh-CN", "en")."""
    if not language_code:
        return fallback
    tag = language_code.lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh_Hans"  # Simplified first: most of our Chinese-speaking groups use it
    if tag.startswith("en"):
        return "en"
    if tag == "ru" or tag.startswith("ru-"):
        return "ru"
    return fallback


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of a locale (English is the source: no catalogue)."""
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale.replace("_Hans", ""))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(locale: str, message: str, **values: object) -> str:
    """Translate `message` into `locale` and fill its {placeholders}."""
    text = translations(locale).gettext(message)
    return text.format(**values) if values else text


def ngettext(locale: str, singular: str, plural: str, count: int, **values: object) -> str:
    """The form of `singular`/`plural` the locale uses for `count` ({n} is the count, written
    the locale's way), with its other {placeholders} filled."""
    text = translations(locale).ngettext(singular, plural, count)
    return text.format(n=number(locale, count), **values)


def _babel_locale(locale: str) -> str:
    return {"zh_Hans": "zh_Hans_CN", "ru": "ru"}.get(locale, "en")


def number(locale: str, value: int | float) -> str:
    """A number written the way the locale writes it."""
    return format_decimal(value, locale=_babel_locale(locale))


def day(locale: str, moment: datetime) -> str:
    """A calendar day (in UTC) written the way the locale writes it."""
    return format_date(moment.astimezone(UTC).date(), format="medium", locale=_babel_locale(locale))
