"""Charts as PNG images: the activity trend, the weekday × hour heatmap and the cohort table.

Drawn with matplotlib's Agg backend (no display) through its object API, one figure per call,
so nothing is shared between charts but the font choice. Titles and labels are in the reader's
language; Chinese needs a CJK font (`fonts-wqy-microhei` or `fonts-noto-cjk` on Debian): when
none is installed, a chart for a Chinese reader is labelled in English rather than in boxes.
Drawing takes 50–200 ms, so callers run it off the event loop (`render_off_loop`).
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from typing import Any, TypeVar

from bot.domain.analytics import Cohort
from bot.ports import Upload
from handlers.i18n import gettext, number

# Preferred first; any one of them draws Chinese. DejaVu Sans (matplotlib's own) draws Latin
# and Cyrillic and stays first in the family list, so CJK glyphs fall back to the CJK font.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PNG = "image/png"
_DPI = 100
_LOCK = threading.Lock()  # matplotlib's font cache and rcParams are not thread-safe

T = TypeVar("T")


@cache
def cjk_font() -> str | None:
    """The name of an installed font that draws Chinese, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def chart_locale(locale: str) -> str:
    """The language a chart can be labelled in: the reader's, or English without a CJK font."""
    return "en" if locale == "zh_Hans" and cjk_font() is None else locale


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any, filename: str) -> Upload:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return Upload(filename, buffer.getvalue(), PNG)


def _fonts() -> Any:
    cjk = cjk_font()
    return {"font.family": ["DejaVu Sans", *([cjk] if cjk else [])], "font.size": 10}


def _drawn(draw: Callable[[], Upload]) -> Upload:
    from matplotlib import rc_context

    with _LOCK, rc_context(_fonts()):
        return draw()


async def render_off_loop(draw: Callable[[], T]) -> T:
    """Run a chart function in a thread, so drawing never holds up the bot."""
    return await asyncio.to_thread(draw)


def trend_chart(
    days: Sequence[date], messages: Sequence[int], active: Sequence[int], locale: str
) -> Upload:
    """Messages (bars) and active members (line) per local day."""
    locale = chart_locale(locale)

    def draw() -> Upload:
        figure = _figure(8, 3.6)
        axes = figure.add_subplot()
        axes.bar(days, messages, color="#9ecae1", label=gettext(locale, "Messages"))
        axes.set_ylabel(gettext(locale, "Messages"))
        members = axes.twinx()
        members.plot(days, active, color="#d6604d", marker=".", label=gettext(locale, "Active"))
        members.set_ylabel(gettext(locale, "Active members"))
        members.set_ylim(bottom=0)
        axes.set_title(
            gettext(
                locale,
                "Messages and active members, last {days} days",
                days=number(locale, len(days)),
            )
        )
        figure.autofmt_xdate()
        handles = axes.get_legend_handles_labels()
        more = members.get_legend_handles_labels()
        axes.legend(handles[0] + more[0], handles[1] + more[1], loc="lower left", fontsize=8)
        return _png(figure, "trend.png")

    return _drawn(draw)


def heatmap_chart(grid: Sequence[Sequence[int]], days: int, locale: str) -> Upload:
    """Messages by local weekday (rows) and hour (columns)."""
    locale = chart_locale(locale)

    def draw() -> Upload:
        figure = _figure(8, 3.2)
        axes = figure.add_subplot()
        image = axes.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
        axes.set_yticks(range(7), [gettext(locale, day) for day in WEEKDAYS])
        axes.set_xticks(range(0, 24, 3), [f"{hour}:00" for hour in range(0, 24, 3)])
        axes.set_xlabel(gettext(locale, "Hour of day (group's time zone)"))
        axes.set_title(gettext(locale, "Messages by weekday and hour, last {days} days", days=days))
        figure.colorbar(image, ax=axes, label=gettext(locale, "Messages"))
        return _png(figure, "heatmap.png")

    return _drawn(draw)


def cohort_chart(cohorts: Sequence[Cohort], locale: str) -> Upload:
    """The cohort table as a grid: each join week's share active in weeks 1 to 8 after."""
    locale = chart_locale(locale)

    def draw() -> Upload:
        rows = list(cohorts)
        weeks = max((len(c.retained) for c in rows), default=8)
        values = [
            [float("nan") if share is None else share * 100 for share in c.retained] for c in rows
        ]
        figure = _figure(8, 1.2 + 0.4 * max(1, len(rows)))
        axes = figure.add_subplot()
        axes.imshow(
            values or [[float("nan")] * weeks], aspect="auto", cmap="Greens", vmin=0, vmax=100
        )
        for y, row in enumerate(rows):
            for x, share in enumerate(row.retained):
                if share is not None:
                    shade = "white" if share > 0.6 else "black"
                    axes.text(x, y, f"{round(share * 100)}%", ha="center", va="center", color=shade)
        axes.set_xticks(range(weeks), [str(k) for k in range(1, weeks + 1)])
        axes.set_yticks(
            range(len(rows)),
            [
                gettext(
                    locale,
                    "{month}/{day} ({joined})",
                    month=c.week.month,
                    day=c.week.day,
                    joined=number(locale, c.size),
                )
                for c in rows
            ],
        )
        axes.set_xlabel(gettext(locale, "Weeks after joining"))
        axes.set_ylabel(gettext(locale, "Week joined (members)"))
        axes.set_title(gettext(locale, "Weekly join cohorts: the share still active"))
        return _png(figure, "retention.png")

    return _drawn(draw)
