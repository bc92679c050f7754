"""The analytics service reads the rollups for the group's own days and time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.analytics import HourTotals, MemberDay, Membership, Response
from bot.ports import GroupSettings
from bot.services.analytics import AnalyticsService
from tests.fakes import FakeClock, FakeUnitOfWorkFactory

CHAT = -100
# 01:00 on 1 April in Tokyo is still 31 March in UTC.
NOW = datetime(2025, 3, 31, 16, 0, tzinfo=UTC)
TOKYO_TODAY = date(2025, 4, 1)


def _service(default: str = "UTC") -> tuple[AnalyticsService, FakeUnitOfWorkFactory]:
    factory = FakeUnitOfWorkFactory()
    factory.db.groups[CHAT] = GroupSettings(CHAT, "Makers", timezone="Asia/Tokyo")
    return AnalyticsService(factory, FakeClock(NOW), default), factory


def _hour(local_day: date, local_hour: int) -> datetime:
    """A UTC hour given in Tokyo time (UTC+9, no DST)."""
    return datetime(local_day.year, local_day.month, local_day.day, tzinfo=UTC) + timedelta(
        hours=local_hour - 9
    )


async def test_overview_counts_the_groups_local_days() -> None:
    service, factory = _service()
    rollups = factory.db.rollups
    today_early = _hour(TOKYO_TODAY, 0)  # 15:00 UTC on 31 March
    week_ago = _hour(TOKYO_TODAY - timedelta(days=7), 23)  # just outside a 7-day window
    rollups.hours[CHAT] = [
        HourTotals(week_ago, messages=5),
        HourTotals(today_early, messages=4, joins=1),
    ]
    rollups.days[CHAT] = [
        MemberDay(1, today_early.date(), active_hours=1 << today_early.hour, messages=4),
        MemberDay(2, week_ago.date(), active_hours=1 << week_ago.hour, messages=5),
    ]
    rollups.memberships[CHAT] = [Membership(1, today_early, joined_at=today_early)]
    rollups.responses[CHAT] = [
        Response(7, today_early, today_early + timedelta(minutes=4), replies=1, reactions=1)
    ]
    overview = await service.overview(CHAT, 7)
    assert overview.timezone == "Asia/Tokyo"
    assert overview.activity.last == TOKYO_TODAY
    assert (overview.activity.messages, overview.activity.active_members) == (4, 1)
    assert (overview.activity.monthly_active, overview.activity.new_members) == (2, 1)
    assert overview.interaction.median_first_reply == timedelta(minutes=4)
    assert overview.interaction.responded_share == 0.25


async def test_top_segments_and_at_risk_name_the_members() -> None:
    service, factory = _service()
    rollups = factory.db.rollups
    rollups.names = {1: "Alice (@alice)", 2: "Bob"}
    start = date(2025, 2, 1)
    # Alice posts every other day until 9 March, then falls silent; Bob posts daily.
    rollups.days[CHAT] = [
        *(MemberDay(1, start + timedelta(days=n), 1 << 3, messages=1) for n in range(0, 38, 2)),
        *(MemberDay(2, start + timedelta(days=n), 1 << 3, messages=2) for n in range(59)),
    ]
    rollups.memberships[CHAT] = [Membership(1, datetime(2025, 1, 1, tzinfo=UTC))]
    top = await service.top(CHAT, 30)
    assert [(m.user_id, m.messages) for m in top.members] == [(2, 60), (1, 4)]
    assert top.names == {1: "Alice (@alice)", 2: "Bob"}
    at_risk = await service.at_risk(CHAT)
    assert [(w.user_id, w.last_active) for w in at_risk.warnings] == [(1, date(2025, 3, 9))]
    assert at_risk.names == {1: "Alice (@alice)"}
    scores = (await service.segments(CHAT)).scores
    assert [s.user_id for s in scores] == [2, 1]


async def test_reports_of_a_group_with_nothing_recorded() -> None:
    service, _ = _service()
    assert (await service.overview(CHAT, 30)).activity.messages == 0
    assert (await service.top(CHAT)).members == []
    assert (await service.at_risk(CHAT)).warnings == []
    assert (await service.heatmap(CHAT)) == [[0] * 24 for _ in range(7)]
    cohorts = await service.retention(CHAT)
    assert len(cohorts) == 9 and all(c.size == 0 for c in cohorts)
