"""The analytics replies: every string translated, tables short and readable."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest

from bot.domain.analytics import BackTest, ChurnWarning, Cohort, MemberScore, Segment, Tag
from bot.services.analytics import AtRiskReport, SegmentReport
from handlers.analytics import at_risk_text, heatmap_text, retention_text, segments_text
from handlers.charts import CJK_FONTS
from handlers.i18n import gettext

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
SOURCES = [HANDLERS / "analytics.py", HANDLERS / "charts.py", HANDLERS / "stats.py"]


def _strings() -> set[str]:
    """English source strings in the analytics handlers and charts: `_(locale, "…")` and
    `gettext(locale, "…")` calls, the name tables, and menu descriptions."""
    found: set[str] = set()
    nodes = [node for source in SOURCES for node in ast.walk(ast.parse(source.read_text()))]
    for node in nodes:
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", "") or getattr(node.func, "attr", "")
            # The source string's position: _(locale, s), MenuEntry(scope, command, s), and
            # render.usage(locale, command, form, s).
            at = {"_": 1, "gettext": 1, "MenuEntry": 2, "usage": 3}.get(name)
            args = node.args[at:] if at is not None else []
            found.update(
                a.value
                for a in args[:1]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
        if isinstance(node, ast.Dict | ast.Tuple):
            values = node.values if isinstance(node, ast.Dict) else node.elts
            found.update(
                v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
    names = set(CJK_FONTS)  # font names, not words
    return {s for s in found if isinstance(s, str) and any(c.isalpha() for c in s)} - names


@pytest.mark.parametrize("locale", ["zh_Hans", "ru"])
def test_every_analytics_string_is_translated(locale: str) -> None:
    strings = _strings()
    assert len(strings) >= 30  # the walker found the strings, not nothing
    # A template of placeholders only ("{segment}: {count}") may stay as it is.
    worded = [s for s in strings if re.search(r"[^\W\d_]", re.sub(r"\{\w+\}", "", s))]
    assert [s for s in sorted(worded) if gettext(locale, s) == s] == []


def _score(user_id: int, segment: Segment, tags: frozenset[Tag] = frozenset()) -> MemberScore:
    return MemberScore(user_id, date(2025, 3, 1), 0, 1, 0, 5, 1, 1, segment, tags)


def test_segments_name_three_members_and_count_the_rest() -> None:
    scores = [_score(n, Segment.LOYAL, frozenset({Tag.ASKER})) for n in range(1, 6)]
    text = segments_text(SegmentReport(scores, {1: "Ann", 2: "Bo"}), "en")
    assert "Loyal: 5 — Ann, Bo, member 3 and 2 more" in text
    assert "Tags: 5 askers" in text
    assert "Champions" not in text


def test_at_risk_reports_the_back_test() -> None:
    warning = ChurnWarning(1, date(2025, 3, 1), 10, 2.0, 7)
    report = AtRiskReport([warning], BackTest(4, 3, 1, 22), {1: "Ann"})
    text = at_risk_text(report, "en")
    assert "Ann — days silent: 10 · usual days between visits: 2" in text
    assert "3 of 4 members warned about went silent for 30 days or more (75%)" in text
    assert "a median of 22 days before" in text
    chinese = at_risk_text(AtRiskReport([], BackTest(0, 0, 0, None), {}), "zh_Hans")
    assert "目前没有" in chinese


def test_retention_rows_show_shares_and_weeks_not_yet_begun() -> None:
    cohort = Cohort(date(2025, 3, 3), 4, (0.5, 0.25, None, None, None, None, None, None))
    assert retention_text([cohort], "en").splitlines()[-1] == "3/3 · 4 · 50% 25% – – – – – –"


def test_heatmap_shades_by_share_of_the_busiest_hour() -> None:
    grid = [[0] * 24 for _ in range(7)]
    grid[0][9], grid[0][10], grid[6][23] = 8, 4, 1
    lines = heatmap_text(grid, "en").splitlines()
    assert lines[2] == "Mon   ·········█▒·············"
    assert lines[8].endswith("░")
    assert lines[-1] == "Busiest: Mon 9:00–9:59 (8 messages)"
    assert heatmap_text([[0] * 24 for _ in range(7)], "en").endswith(
        "No messages recorded in this period."
    )
