"""Every command's argument parser answers any text with a value or its own usage error.

A parser that raises anything else leaves the member without a reply (the handler fails), as
`/settings text on ²` once did: `"²".isdigit()` holds, `int("²")` raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.domain.analytics import parse_period
from bot.domain.durations import DurationInputError, parse_duration
from bot.domain.group_settings import SettingsInputError, parse_settings
from bot.domain.handoff import ShiftInputError, parse_shift

PARSERS: list[tuple[str, Callable[[str], object], type[Exception]]] = [
    ("settings", parse_settings, SettingsInputError),
    ("duration", parse_duration, DurationInputError),
    ("shift", parse_shift, ShiftInputError),
    ("period", lambda text: parse_period(text, 7), SettingsInputError),
]

# Words the parsers know, mixed with what breaks naive parsing.
WORDS = st.sampled_from(
    [
        "text",
        "on",
        "off",
        "timezone",
        "tz",
        "language",
        "zh",
        "en",
        "30",
        "30d",
        "²",
        "①",
        "٣",
        "9" * 5000,
        "-1",
        "0",
        "1e9",
        "\u200b",
        "🎉",
        "Mon-Fri",
        "09:00-18:00",
        "10m",
        "1d12h",
        "daily",
        "周一至周五",
        "9-18",
        "天",
        "7d",
        "90d",
        "Europe/Berlin",
        "",
    ]
)
TEXTS = st.one_of(
    st.text(max_size=4096),
    st.lists(WORDS, max_size=6).map(" ".join),
    st.lists(st.one_of(WORDS, st.text(max_size=8)), max_size=6).map(" ".join),
)


@pytest.mark.parametrize(("name", "parse", "error"), PARSERS, ids=[p[0] for p in PARSERS])
def test_parsers_answer_anything(
    name: str, parse: Callable[[str], object], error: type[Exception]
) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(TEXTS)
    @example("text on ²")
    @example("text on " + "9" * 5000)
    @example("\u200b")
    @example("9" * 5000 + "s")
    def check(text: str) -> None:
        with contextlib.suppress(error):
            parse(text)

    check()
