"""Exports: a group's daily summary and its members with segments, as CSV files.

One service behind `/export` (files to the admin in private) and `groupops report --format csv`.
Columns are in English and machine-readable (ISO dates, segment and tag keys) so a spreadsheet
or a script reads them the same in every language; the file starts with a UTF-8 byte order mark
so spreadsheet programs read Chinese and Cyrillic names right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.analytics import DaySummary
from bot.services.analytics import AnalyticsService, MemberRow

DAILY_COLUMNS = (
    "date",
    "messages",
    "replies",
    "reactions",
    "active_members",
    "joins",
    "leaves",
    "net_growth",
)
MEMBER_COLUMNS = (
    "user_id",
    "name",
    "segment",
    "tags",
    "last_active",
    "days_silent",
    "active_days_90d",
    "responses_received_90d",
    "recency_score",
    "frequency_score",
    "contribution_score",
    "at_risk",
    "usual_gap_days",
)
MAX_EXPORT_DAYS = 366
CSV_TYPE = "text/csv"


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A CSV export: its file name and bytes."""

    filename: str
    data: bytes


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def _safe(text: str) -> str:
    """A name as a spreadsheet cell: one starting with = + - @ would be read as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def daily_csv(days: Sequence[DaySummary]) -> bytes:
    return _csv(
        DAILY_COLUMNS,
        (
            (
                d.day.isoformat(),
                d.messages,
                d.replies,
                d.reactions,
                d.active_members,
                d.joins,
                d.leaves,
                d.joins - d.leaves,
            )
            for d in days
        ),
    )


def members_csv(members: Sequence[MemberRow]) -> bytes:
    return _csv(
        MEMBER_COLUMNS,
        (
            (
                m.score.user_id,
                _safe(m.name),
                m.score.segment.value,
                " ".join(sorted(tag.value for tag in m.score.tags)),
                m.score.last_active.isoformat(),
                m.score.days_silent,
                m.score.active_days,
                m.score.contribution,
                m.score.recency,
                m.score.frequency,
                m.score.contribution_score,
                "yes" if m.warning else "no",
                m.warning.usual_gap_days if m.warning else "",
            )
            for m in members
        ),
    )


class ReportService:
    """Builds the CSV exports of a group from the analytics service."""

    def __init__(self, analytics: AnalyticsService) -> None:
        self._analytics = analytics

    async def export(self, chat_id: int, days: int = 90) -> list[CsvFile]:
        """The daily summary of the last `days` days and the members with segments."""
        days = max(1, min(days, MAX_EXPORT_DAYS))
        today = await self._analytics.today(chat_id)
        suffix = f"{abs(chat_id)}-{today.isoformat()}"
        return [
            CsvFile(f"daily-{suffix}.csv", daily_csv(await self._analytics.daily(chat_id, days))),
            CsvFile(f"members-{suffix}.csv", members_csv(await self._analytics.members(chat_id))),
        ]
