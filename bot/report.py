"""`groupops report --chat <id> [--since …] [--format text|csv|png] [--out DIR] [--lang …]`.

The same services and renderers as the chat commands, from the command line: `text` prints
what /stats (analytics lines), /top, /segments, /atrisk, /retention and /heatmap answer; `csv`
writes the /export files; `png` writes the charts. `--since` is a date (2026-11-01) or a number
of days (30d) and sets the period of the overview, the daily summary and the trend.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot import preflight
from bot.clock import SystemClock
from bot.config import Settings
from bot.preflight import StartupError
from bot.services.analytics import HEATMAP_DAYS, AnalyticsService
from bot.services.reports import MAX_EXPORT_DAYS, ReportService

FORMATS = ("text", "csv", "png")
DEFAULT_DAYS = 30
LANGUAGES = {"en": "en", "ru": "ru", "zh": "zh_Hans", "zh_hans": "zh_Hans", "zh-hans": "zh_Hans"}


@dataclass(frozen=True, slots=True)
class Since:
    """`--since` as given: a date, or a number of days back (today included)."""

    day: date | None = None
    days: int | None = None

    def days_until(self, today: date) -> int:
        if self.days is not None:
            return self.days
        assert self.day is not None
        return (today - self.day).days + 1


def parse_since(value: str) -> Since:
    """A date (YYYY-MM-DD) or a number of days (`30d`, `30`); argparse's error otherwise."""
    text = value.strip().lower()
    if match := re.fullmatch(r"(\d{1,3})d?", text):
        days = int(match.group(1))
        if not 1 <= days <= MAX_EXPORT_DAYS:
            raise argparse.ArgumentTypeError(f"give 1 to {MAX_EXPORT_DAYS} days, not {value!r}")
        return Since(days=days)
    try:
        return Since(day=date.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a date (2026-11-01) nor a number of days (30d)"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chat", type=int, required=True, help="the group's chat id")
    parser.add_argument(
        "--since",
        type=parse_since,
        default=Since(days=DEFAULT_DAYS),
        help="a date (2026-11-01) or days back (30d); default 30d",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--out", type=Path, default=Path("."), help="folder for csv and png files (default: .)"
    )
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default="en", help="text language")


async def run_report(settings: Settings, args: argparse.Namespace) -> int:
    """Print or write the report; the exit code."""
    from storage.engine import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    await preflight.check_database(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        uow_factory = SqlUnitOfWorkFactory(session_factory(engine))
        async with uow_factory() as uow:
            if await uow.groups.get(args.chat) is None:
                raise StartupError(f"no group {args.chat} is recorded in this database")
        analytics = AnalyticsService(uow_factory, SystemClock(), settings.default_timezone)
        today = await analytics.today(args.chat)
        days = args.since.days_until(today)
        if not 1 <= days <= MAX_EXPORT_DAYS:
            raise StartupError(f"--since must be 1 to {MAX_EXPORT_DAYS} days back, up to today")
        locale = LANGUAGES[args.lang]
        if args.format == "text":
            print(await report_text(analytics, args.chat, days, locale))
        elif args.format == "csv":
            args.out.mkdir(parents=True, exist_ok=True)
            for file in await ReportService(analytics).export(args.chat, days):
                path = args.out / file.filename
                path.write_bytes(file.data)
                print(path)
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            for filename, data in await report_charts(analytics, args.chat, days, locale):
                path = args.out / filename
                path.write_bytes(data)
                print(path)
    finally:
        await engine.dispose()
    return 0


async def report_text(analytics: AnalyticsService, chat_id: int, days: int, locale: str) -> str:
    """Every report as the chat commands word it, one after another."""
    from handlers.analytics import (
        at_risk_text,
        heatmap_text,
        overview_text,
        retention_text,
        segments_text,
        top_text,
    )

    return "\n\n".join(
        [
            overview_text(await analytics.overview(chat_id, days), locale),
            top_text(await analytics.top(chat_id, days), locale),
            segments_text(await analytics.segments(chat_id), locale),
            at_risk_text(await analytics.at_risk(chat_id), locale),
            retention_text(await analytics.retention(chat_id), locale),
            heatmap_text(await analytics.heatmap(chat_id), locale),
        ]
    )


async def report_charts(
    analytics: AnalyticsService, chat_id: int, days: int, locale: str
) -> list[tuple[str, bytes]]:
    """The trend over `days` days, the heatmap and the cohort table, as PNG files."""
    from handlers.charts import cohort_chart, heatmap_chart, trend_chart

    trend = await analytics.trend(chat_id, days)
    uploads = [
        trend_chart(trend.days, trend.messages, trend.active, locale),
        heatmap_chart(await analytics.heatmap(chat_id), HEATMAP_DAYS, locale),
        cohort_chart(await analytics.retention(chat_id), locale),
    ]
    return [(upload.filename, upload.data) for upload in uploads]
