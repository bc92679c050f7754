"""Charts: PNG images, labelled in the reader's language, Chinese only with a font that has it."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import pytest

from bot.domain.analytics import Cohort
from handlers import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
GRID = [[(d + 1) * h for h in range(24)] for d in range(7)]
COHORTS = [
    Cohort(date(2026, 10, 5), 10, (0.5, 0.25, None, None, None, None, None, None)),
    Cohort(date(2026, 10, 12), 0, (None,) * 8),
]


def _draw_all(locale: str) -> list[bytes]:
    return [
        charts.trend_chart(DAYS, list(range(30)), [n % 7 for n in range(30)], locale).data,
        charts.heatmap_chart(GRID, 90, locale).data,
        charts.cohort_chart(COHORTS, locale).data,
    ]


def test_every_chart_is_a_png_with_its_name() -> None:
    uploads = [
        charts.trend_chart(DAYS, [1] * 30, [1] * 30, "en"),
        charts.heatmap_chart(GRID, 90, "en"),
        charts.cohort_chart(COHORTS, "en"),
        charts.cohort_chart([], "en"),  # a group with no cohorts yet still gets a picture
    ]
    assert [u.filename for u in uploads] == ["trend.png", "heatmap.png", *["retention.png"] * 2]
    for upload in uploads:
        assert upload.data.startswith(PNG_MAGIC) and upload.content_type == "image/png"
        assert 5_000 < len(upload.data) < 500_000


@pytest.mark.skipif(charts.cjk_font() is None, reason="no CJK font installed")
def test_chinese_titles_are_drawn_with_a_cjk_font_without_missing_glyphs() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chinese = _draw_all("zh_Hans")
    assert [str(w.message) for w in caught if "missing from" in str(w.message)] == []
    assert all(a != b for a, b in zip(chinese, _draw_all("en"), strict=True))


def test_without_a_cjk_font_chinese_readers_get_english_labels_not_boxes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    assert charts.chart_locale("zh_Hans") == "en"
    assert charts.chart_locale("ru") == "ru"  # Cyrillic is in matplotlib's own font
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _draw_all("zh_Hans") == _draw_all("en")
    assert [str(w.message) for w in caught if "missing from" in str(w.message)] == []


def test_russian_labels_change_the_picture() -> None:
    assert _draw_all("ru")[0] != _draw_all("en")[0]
