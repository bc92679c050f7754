"""Durations typed in commands: every accepted form, every refusal (translated into Chinese and
Russian, with the rota's shift refusals), and the short form back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.domain.durations import (
    MAX_SECONDS,
    DurationInputError,
    format_duration,
    parse_duration,
)
from handlers.i18n import gettext

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("2h", 7_200),
        ("1d", 86_400),
        ("1d12h", 129_600),
        ("1h30m", 5_400),
        ("1h 30m", 5_400),
        ("1d2h3m4s", 93_784),
        ("600", 600),  # a bare number is seconds
        ("1", 1),  # the shortest, so tests can use short timers
        (" 10M ", 600),
        ("10 min", 600),
        ("2 hours", 7_200),
        ("1 day 6 hrs", 108_000),
        ("30 seconds", 30),
        ("10分钟", 600),
        ("2小时", 7_200),
        ("1天12小时", 129_600),
        ("45秒", 45),
        ("10 мин", 600),
        ("1д12ч", 129_600),
        ("2 часа 30 минут", 9_000),
        ("１０ｍ", 600),  # full-width, from a Chinese keyboard
        ("0h5m", 300),  # a zero part is harmless while the total is positive
        ("366d", MAX_SECONDS),
    ],
)
def test_reads_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Give a duration"),
        ("   ", "Give a duration"),
        ("m", "is not a duration"),
        ("10x", "is not a duration"),
        ("ten minutes", "is not a duration"),
        ("10m!", "is not a duration"),
        ("-5m", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("30m2h", "largest first"),
        ("10m10m", "largest first"),
        ("1h 2 hours", "largest first"),
        ("0", "at least 1 second"),
        ("0m", "at least 1 second"),
        ("367d", "at most 366d"),
        ("99999999999", "at most"),
    ],
)
def test_refuses_what_is_not_a_duration(text: str, problem: str) -> None:
    with pytest.raises(DurationInputError) as caught:
        parse_duration(text)
    assert problem in str(caught.value)


def test_the_error_names_what_was_typed() -> None:
    with pytest.raises(DurationInputError) as caught:
        parse_duration(" 10x ")
    assert caught.value.values == {"text": "10x"}
    assert str(caught.value).startswith("“10x” is not a duration")


@pytest.mark.parametrize(
    ("seconds", "short"),
    [(1, "1s"), (90, "1m30s"), (600, "10m"), (129_600, "1d12h"), (93_784, "1d2h3m4s"), (0, "0s")],
)
def test_formats_the_short_form(seconds: int, short: str) -> None:
    assert format_duration(seconds) == short


@pytest.mark.parametrize("seconds", [1, 59, 61, 3_599, 3_601, 86_399, 90_061, MAX_SECONDS])
def test_the_short_form_reads_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def _problems(path: Path, error: str) -> set[str]:
    """The English templates a domain module raises `error` with (rendered by the handlers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == error
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


@pytest.mark.parametrize(
    ("module", "error", "count"),
    [("durations.py", "DurationInputError", 5), ("handoff.py", "ShiftInputError", 3)],
)
def test_every_refusal_is_translated(module: str, error: str, count: int) -> None:
    problems = _problems(DOMAIN / module, error)
    assert len(problems) == count  # the walker found them, not nothing
    for locale in ("zh_Hans", "ru"):
        assert sorted(p for p in problems if gettext(locale, p) == p) == [], locale
