"""Every string recognition shows a person has a Russian and a Simplified Chinese translation,
with the same {placeholders} as the English source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from handlers.i18n import gettext

SOURCE = Path(__file__).resolve().parents[2] / "handlers" / "recognition.py"


def _strings() -> set[str]:
    """Source strings passed to `_`, `render.usage`, menu entries and health lines, and the
    values of the module's tables (badge names, refusals)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", "") or getattr(node.func, "attr", "")
            position = {"_": 1, "usage": 3, "MenuEntry": 2, "HealthLine": 0}.get(name)
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
        elif isinstance(node, ast.Dict):
            found.update(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.startswith("_OPTED"):
                found.add(str(node.value.value))
    return found


def test_the_walker_finds_the_catalogue() -> None:
    assert len(_strings()) >= 40


@pytest.mark.parametrize("locale", ["ru", "zh_Hans"])
def test_every_recognition_string_is_translated(locale: str) -> None:
    missing = sorted(s for s in _strings() if gettext(locale, s) == s and "{name}" not in s)
    assert missing == []


@pytest.mark.parametrize("locale", ["ru", "zh_Hans"])
def test_translations_keep_the_placeholders(locale: str) -> None:
    def fields(text: str) -> set[str]:
        return set(re.findall(r"{(\w+)}", text))

    wrong = [s for s in _strings() if fields(gettext(locale, s)) != fields(s)]
    assert wrong == []
