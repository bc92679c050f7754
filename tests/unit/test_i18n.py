"""Every string a person reads has a Simplified Chinese translation (invariant 9)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from handlers import i18n
from handlers.i18n import gettext, pick_locale

ROOT = Path(__file__).resolve().parents[2]


def _render_strings() -> set[str]:
    """English source strings passed to gettext in handlers/render.py (and its tables)."""
    tree = ast.parse((ROOT / "handlers" / "render.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "_"
            and len(node.args) > 1
        ):
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
        if isinstance(node, ast.Dict):
            found.update(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
    return found


def _settings_problems() -> set[str]:
    """Problem templates the /settings parser raises (rendered through render.usage)."""
    tree = ast.parse((ROOT / "bot" / "domain" / "group_settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "SettingsInputError"
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_rendered_string_has_a_chinese_translation() -> None:
    problems = _settings_problems()
    assert len(problems) >= 5
    strings = _render_strings() | problems
    assert len(strings) >= 15  # the walker found the catalogue, not nothing
    missing = sorted(s for s in strings if gettext("zh_Hans", s) == s)
    assert missing == []


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("zh-hans", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("en-GB", "en"),
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("uk", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_pick_locale(code: str | None, locale: str) -> None:
    assert pick_locale(code) == locale


def test_placeholders_are_filled_in_both_languages() -> None:
    assert gettext("en", "Sorry, only the group's admins can use /{command}.", command="stats") == (
        "Sorry, only the group's admins can use /stats."
    )
    assert "/stats" in gettext(
        "zh_Hans", "Sorry, only the group's admins can use /{command}.", command="stats"
    )


def test_numbers_use_the_locale() -> None:
    assert i18n.number("en", 12345) == "12,345"
    assert i18n.number("zh_Hans", 12345) == "12,345"


def _plural_strings() -> set[tuple[str, str]]:
    """(singular, plural) pairs passed to ngettext in handlers/render.py."""
    tree = ast.parse((ROOT / "handlers" / "render.py").read_text())
    return {
        (node.args[1].value, node.args[2].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "ngettext"
        and all(isinstance(arg, ast.Constant) for arg in node.args[1:3])
    }


def test_every_plural_has_a_chinese_translation() -> None:
    pairs = _plural_strings()
    assert len(pairs) >= 3
    missing = sorted(
        plural
        for singular, plural in pairs
        if i18n.translations("zh_Hans").ngettext(singular, plural, 2) in (singular, plural)
    )
    assert missing == []


@pytest.mark.parametrize(
    ("count", "words"), [(1, "1 message."), (2, "2 messages."), (0, "0 messages.")]
)
def test_english_counts_take_their_plural(count: int, words: str) -> None:
    text = i18n.ngettext(
        "en",
        "Erased the stored text of {n} message.",
        "Erased the stored text of {n} messages.",
        count,
    )
    assert text == f"Erased the stored text of {words}"


def test_every_rendered_string_has_a_russian_translation() -> None:
    strings = _render_strings() | _settings_problems()
    missing = sorted(s for s in strings if gettext("ru", s) == s)
    assert missing == []
    plural = i18n.translations("ru")
    untranslated = sorted(p for s, p in _plural_strings() if plural.ngettext(s, p, 5) == p)
    assert untranslated == []


@pytest.mark.parametrize(("count", "words"), [(1, "1 группа"), (3, "3 группы"), (5, "5 групп")])
def test_russian_counts_take_their_three_forms(count: int, words: str) -> None:
    assert i18n.ngettext("ru", "{n} group", "{n} groups", count) == words


def _menu_descriptions() -> set[str]:
    """The descriptions of every MenuEntry written in handlers/ (Telegram's command menus)."""
    found: set[str] = set()
    for path in (ROOT / "handlers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "MenuEntry"
                and len(node.args) == 3
                and isinstance(node.args[2], ast.Constant)
            ):
                found.add(node.args[2].value)
    return found


@pytest.mark.parametrize("locale", [locale for locale in i18n.SUPPORTED if locale != "en"])
def test_every_menu_entry_is_translated(locale: str) -> None:
    descriptions = _menu_descriptions()
    assert len(descriptions) >= 7
    assert sorted(d for d in descriptions if gettext(locale, d) == d) == []
