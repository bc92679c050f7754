"""The exports: the daily summary in local days (DST included) and the CSV files as written."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.domain.analytics import (
    ChurnWarning,
    DaySummary,
    HourTotals,
    MemberDay,
    MemberScore,
    Segment,
    Tag,
    daily_summary,
)
from bot.services.analytics import MemberRow
from bot.services.reports import DAILY_COLUMNS, MEMBER_COLUMNS, daily_csv, members_csv

NEW_YORK = ZoneInfo("America/New_York")  # DST began 2025-03-09 at 02:00 local


def _read(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_daily_summary_counts_local_days_across_dst_and_keeps_quiet_days() -> None:
    hours = [
        # 2025-03-09 04:30 UTC is 23:30 on the 8th in New York (EST, UTC-5).
        HourTotals(datetime(2025, 3, 9, 4, tzinfo=UTC), messages=2, joins=1),
        # 2025-03-10 03:00 UTC is 23:00 on the 9th (EDT, UTC-4, after the change).
        HourTotals(datetime(2025, 3, 10, 3, tzinfo=UTC), messages=5, replies=1, leaves=1),
        # 04:00 UTC on the 10th is midnight on the 10th.
        HourTotals(datetime(2025, 3, 10, 4, tzinfo=UTC), reactions=4),
    ]
    days = [
        MemberDay(1, date(2025, 3, 9), active_hours=1 << 4),  # the 8th, local
        MemberDay(1, date(2025, 3, 10), active_hours=1 << 3),  # the 9th
        MemberDay(2, date(2025, 3, 10), active_hours=1 << 3 | 1 << 4),  # the 9th and 10th
    ]
    summary = daily_summary(hours, days, NEW_YORK, date(2025, 3, 7), date(2025, 3, 10))
    assert summary == [
        DaySummary(date(2025, 3, 7)),
        DaySummary(date(2025, 3, 8), messages=2, active_members=1, joins=1),
        DaySummary(date(2025, 3, 9), messages=5, replies=1, active_members=2, leaves=1),
        DaySummary(date(2025, 3, 10), reactions=4, active_members=1),
    ]


def test_daily_csv_has_its_columns_and_net_growth() -> None:
    rows = _read(daily_csv([DaySummary(date(2025, 3, 8), 2, 1, 0, 1, 1, 3)]))
    assert list(rows[0]) == list(DAILY_COLUMNS)
    assert rows[0]["date"] == "2025-03-08" and rows[0]["net_growth"] == "-2"


def _score(user_id: int, tags: frozenset[Tag] = frozenset()) -> MemberScore:
    return MemberScore(user_id, date(2025, 3, 1), 20, 6, 9, 2, 4, 3, Segment.AT_RISK, tags)


def test_members_csv_names_segments_tags_and_warnings() -> None:
    warning = ChurnWarning(1, date(2025, 3, 1), 20, 2.5, 8)
    data = members_csv(
        [
            MemberRow(_score(1, frozenset({Tag.PROMOTER, Tag.ASKER})), "王小明", warning),
            MemberRow(_score(2), "=HYPERLINK(evil)", None),
        ]
    )
    first, second = _read(data)
    assert list(first) == list(MEMBER_COLUMNS)
    assert first["name"] == "王小明" and first["segment"] == "at_risk"
    assert first["tags"] == "asker promoter"
    assert (first["at_risk"], first["usual_gap_days"]) == ("yes", "2.5")
    # A name a spreadsheet would run as a formula is written as text.
    assert second["name"] == "'=HYPERLINK(evil)"
    assert (second["at_risk"], second["usual_gap_days"]) == ("no", "")
