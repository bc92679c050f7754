"""The analytics service reads the rollups for the group's own days and time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.analytics import (
    HourTotals,
    Interaction,
    MemberDay,
    Membership,
    Response,
    ResponseTotals,
    Segment,
    Tag,
    TopMember,
)
from bot.ports import GroupSettings
from bot.services.analytics import AnalyticsService
from tests.fakes import FakeClock, FakeUnitOfWorkFactory, Rollups, _Rollups

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


def _erase(rollups: Rollups, user_id: int) -> None:
    """What erasure (or opting out) leaves of a member here: no membership, no member-days."""
    rollups.memberships[CHAT] = [m for m in rollups.memberships[CHAT] if m.user_id != user_id]
    rollups.days[CHAT] = [d for d in rollups.days[CHAT] if d.user_id != user_id]


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
    rollups.memberships[CHAT] = [
        Membership(1, today_early, joined_at=today_early),
        Membership(2, week_ago),  # every member who posts has one (not new in these 7 days)
    ]
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
    # Every member who posts has a membership (erased members have none, and are not scored).
    rollups.memberships[CHAT] = [
        Membership(1, datetime(2025, 1, 1, tzinfo=UTC)),
        Membership(2, datetime(2025, 1, 1, tzinfo=UTC)),
    ]
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


async def test_at_risk_keeps_its_day_and_drops_whoever_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory = FakeUnitOfWorkFactory()
    factory.db.groups[CHAT] = GroupSettings(CHAT, "Makers", timezone="Asia/Tokyo")
    clock = FakeClock(NOW)
    service = AnalyticsService(factory, clock, "UTC")
    rollups = factory.db.rollups
    rollups.names = {1: "Alice", 2: "Bob", 3: "Carol"}
    rollups.memberships[CHAT] = [
        Membership(user, datetime(2025, 1, 1, tzinfo=UTC)) for user in (1, 2, 3)
    ]
    start = date(2025, 2, 1)
    # Alice and Carol post every other day until 9 March, then fall silent; Bob posts daily.
    rollups.days[CHAT] = [
        *(
            MemberDay(user, start + timedelta(days=n), 1 << 3, messages=1)
            for n in range(0, 38, 2)
            for user in (1, 3)
        ),
        *(MemberDay(2, start + timedelta(days=n), 1 << 3, messages=2) for n in range(59)),
    ]
    read: list[tuple[date, date]] = []
    member_days = _Rollups.member_days

    async def recording(self: _Rollups, chat_id: int, since: date, until: date) -> list[MemberDay]:
        read.append((since, until))
        return await member_days(self, chat_id, since, until)

    monkeypatch.setattr(_Rollups, "member_days", recording)
    first = await service.at_risk(CHAT)
    assert [w.user_id for w in first.warnings] == [1, 3]
    assert read[-1][0] < start  # the day's first call read the whole history
    # Alice comes back today (01:00 on 1 April in Tokyo): she is no longer at risk.
    rollups.days[CHAT].append(MemberDay(1, NOW.date(), 1 << NOW.hour, messages=1))
    again = await service.at_risk(CHAT)
    assert [w.user_id for w in again.warnings] == [3]
    # Only today's member-days were read: Tokyo's 1 April is 15:00 on 31 March to 15:00 UTC.
    assert read[-1] == (date(2025, 3, 31), date(2025, 4, 1))
    # The same warnings as reading everything again; the back-test is the day's first.
    fresh = await AnalyticsService(factory, clock, "UTC").at_risk(CHAT)
    assert again.warnings == fresh.warnings and again.names == {3: "Carol"}
    assert again.back_test == first.back_test
    # Carol erased her data (or opted out here): no membership, and no warning.
    _erase(rollups, 3)
    assert (await service.at_risk(CHAT)).warnings == []
    # The tick counts the next local day ahead, once, for the groups asked before.
    assert await service.refresh_kept_days() == 0
    clock.advance(24 * 3600)
    assert await service.refresh_kept_days() == 1
    assert read[-1][0] < start
    assert await service.refresh_kept_days() == 0


async def test_segments_keep_the_days_before_today_and_merge_todays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory = FakeUnitOfWorkFactory()
    factory.db.groups[CHAT] = GroupSettings(CHAT, "Makers", timezone="Asia/Tokyo")
    clock = FakeClock(NOW)
    service = AnalyticsService(factory, clock, "UTC")
    rollups = factory.db.rollups
    start = date(2025, 2, 1)
    rollups.days[CHAT] = [
        MemberDay(user, start + timedelta(days=n), 1 << 3, messages=user, reactions_received=n % 3)
        for user in range(1, 30)
        for n in range(0, 59, user % 5 + 1)
    ]
    rollups.memberships[CHAT] = [
        Membership(user, datetime(2025, 1, 1, tzinfo=UTC)) for user in range(1, 30)
    ]
    read: list[tuple[date, date]] = []
    member_days = _Rollups.member_days

    async def recording(self: _Rollups, chat_id: int, since: date, until: date) -> list[MemberDay]:
        read.append((since, until))
        return await member_days(self, chat_id, since, until)

    monkeypatch.setattr(_Rollups, "member_days", recording)
    await service.segments(CHAT)
    assert len(read) == 2  # the days before today's, then today's
    # Member 7 comes back today (01:00 on 1 April in Tokyo) and earns a reaction.
    rollups.days[CHAT].append(MemberDay(7, NOW.date(), 1 << NOW.hour, 1, reactions_received=1))
    again = await service.segments(CHAT)
    assert read[2:] == [(date(2025, 3, 31), date(2025, 4, 1))]  # only today's UTC days
    fresh = await AnalyticsService(factory, clock, "UTC").segments(CHAT)
    assert again.scores == fresh.scores
    assert next(s for s in again.scores if s.user_id == 7).days_silent == 0
    # Member 40 is first seen today, invited by member 8 with three others: new, and member 8
    # a promoter, as a fresh read of every membership has it.
    today = NOW - timedelta(minutes=30)
    rollups.memberships[CHAT] += [
        Membership(40 + n, today, joined_at=today, invited_by_user_id=8) for n in range(4)
    ]
    rollups.days[CHAT].append(MemberDay(40, NOW.date(), 1 << NOW.hour, 1))
    joined = await service.segments(CHAT)
    assert joined.scores == (await AnalyticsService(factory, clock, "UTC").segments(CHAT)).scores
    scored = {s.user_id: s for s in joined.scores}
    assert scored[40].segment == Segment.NEW
    assert Tag.PROMOTER in scored[8].tags
    # Half the group comes back today: the recency cut points move, so every kept score goes.
    rollups.days[CHAT] += [MemberDay(u, NOW.date(), 1 << NOW.hour, 1) for u in range(10, 26)]
    moved = await service.segments(CHAT)
    assert moved.scores == (await AnalyticsService(factory, clock, "UTC").segments(CHAT)).scores
    # Member 9 brings in two members who have not posted: no one's days change, but member 9
    # is a promoter now, kept score or not.
    rollups.memberships[CHAT] += [
        Membership(50 + n, today, joined_at=today, invited_by_user_id=9) for n in range(2)
    ]
    promoted = {s.user_id: s for s in (await service.segments(CHAT)).scores}
    assert Tag.PROMOTER in promoted[9].tags
    # A member who erased their data has no membership: not scored from the kept days.
    _erase(rollups, 3)
    assert 3 not in {s.user_id for s in (await service.segments(CHAT)).scores}
    # The tick reads the next local day ahead for the groups asked before.
    clock.advance(24 * 3600)
    before = len(read)
    assert await service.refresh_kept_days() == 1
    assert len(read) == before + 2
    assert await service.refresh_kept_days() == 0


async def test_overview_retention_and_trend_keep_active_days_and_match_a_full_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory = FakeUnitOfWorkFactory()
    factory.db.groups[CHAT] = GroupSettings(CHAT, "Makers", timezone="Asia/Tokyo")
    clock = FakeClock(NOW)
    service = AnalyticsService(factory, clock, "UTC")
    rollups = factory.db.rollups
    start = date(2025, 1, 20)
    rollups.days[CHAT] = [
        MemberDay(user, start + timedelta(days=n), 1 << (user % 24), messages=1)
        for user in range(1, 25)
        for n in range(0, 71, user % 4 + 1)
    ]
    rollups.memberships[CHAT] = [
        Membership(u, datetime(2025, 1, 20 + u % 9, tzinfo=UTC), joined_at=None)
        for u in range(1, 25)
    ]

    async def reports(of: AnalyticsService) -> tuple[object, ...]:
        return (
            (await of.overview(CHAT, 7)).activity,
            (await of.overview(CHAT, 30)).activity,
            await of.retention(CHAT),
            await of.trend(CHAT, 30),
        )

    read: list[tuple[date, date]] = []
    member_days = _Rollups.member_days

    async def recording(self: _Rollups, chat_id: int, since: date, until: date) -> list[MemberDay]:
        read.append((since, until))
        return await member_days(self, chat_id, since, until)

    monkeypatch.setattr(_Rollups, "member_days", recording)
    await reports(service)
    # Members 5 and 6 come back today (Tokyo's 1 April), one hour apart.
    rollups.days[CHAT] += [MemberDay(5, NOW.date(), 1 << 16), MemberDay(6, NOW.date(), 1 << 17)]
    read.clear()
    again = await reports(service)
    assert {span for span in read} == {(date(2025, 3, 31), date(2025, 4, 1))}  # today only
    assert again == await reports(AnalyticsService(factory, clock, "UTC"))
    (table, _, _) = await service.stats(CHAT, 7)
    # A member who erased their data has no membership: counted nowhere, kept days or not.
    _erase(rollups, 5)
    assert await reports(service) == await reports(AnalyticsService(factory, clock, "UTC"))
    assert (await service.overview(CHAT, 7)).activity.active_members < again[0].active_members  # type: ignore[attr-defined]
    # /stats's table too: member 5, active today, no longer counts among today's members.
    (after, _, _) = await service.stats(CHAT, 7)
    assert dict(after.windows)[1].active_members == dict(table.windows)[1].active_members - 1


async def test_interaction_keeps_older_days_and_reads_the_live_days_each_time() -> None:
    """Each period's interaction is what every response to its messages gives, on the day's
    first call and after: a response to a message of the live days counts at once; one to an
    older message from the next local day on."""
    service, factory = _service()
    rollups = factory.db.rollups
    rollups.hours[CHAT] = [HourTotals(NOW - timedelta(days=d), messages=50) for d in range(95)]
    responses = [
        Response(
            n,
            NOW - timedelta(hours=7 * n),
            NOW - timedelta(hours=7 * n) + timedelta(minutes=n % 17, microseconds=n),
            replies=1 + n % 3,
            reactions=n % 2,
        )
        for n in range(1, 320)  # posted over the last 93 days
    ]
    responses += [Response(900 + n, NOW - timedelta(days=n), None, 0, 2) for n in range(0, 60, 4)]
    rollups.responses[CHAT] = responses

    async def interaction(analytics: AnalyticsService, days: int) -> Interaction:
        return (await analytics.overview(CHAT, days)).interaction

    async def full_read(days: int) -> Interaction:
        return await interaction(AnalyticsService(factory, FakeClock(NOW), "UTC"), days)

    for days in (7, 30, 90):
        since = datetime(2025, 4, 1, tzinfo=UTC) - timedelta(hours=9, days=days - 1)
        totals = ResponseTotals.of(r for r in responses if r.posted_at >= since)
        first = await interaction(service, days)
        assert first.median_first_reply == totals.median_first_reply
        assert first.replies_per_message == totals.replies / first.messages
        assert await interaction(service, days) == first  # from what was kept
    # First replies now: to a message of yesterday, counted at once; to one of ten days ago,
    # from the next local day on.
    yesterday = Response(2000, NOW - timedelta(days=1), NOW, 1, 0)
    rollups.responses[CHAT] = [*responses, yesterday]
    with_yesterday = await full_read(30)
    rollups.responses[CHAT].append(Response(2001, NOW - timedelta(days=10), NOW, 1, 0))
    assert await interaction(service, 30) == with_yesterday
    assert await full_read(30) != with_yesterday


async def test_top_keeps_the_days_before_today_and_adds_todays_across_utc_midnight() -> None:
    """/top ranks as a full read does: on the day's first call, after members post today, and
    after UTC midnight within the same local day (Tokyo's 1 April runs from 15:00 UTC)."""
    factory = FakeUnitOfWorkFactory()
    factory.db.groups[CHAT] = GroupSettings(CHAT, "Makers", timezone="Asia/Tokyo")
    clock = FakeClock(NOW + timedelta(hours=7))  # 08:00 on 1 April in Tokyo, 23:00 UTC
    service = AnalyticsService(factory, clock, "UTC")
    rollups = factory.db.rollups
    utc_today = NOW.date()  # 31 March
    rollups.days[CHAT] = [
        MemberDay(
            user, utc_today - timedelta(days=n), 1, messages=(user * n) % 7, replies_received=n
        )
        for user in range(1, 40)
        for n in range(1, 29)
    ]

    async def full_read() -> list[TopMember]:
        fresh = AnalyticsService(factory, clock, "UTC")
        return (await fresh.top(CHAT, 30)).members

    assert (await service.top(CHAT, 30)).members == await full_read()
    # Today, members low in the ranking post a lot: they climb to the top.
    rollups.days[CHAT] += [MemberDay(n, utc_today, 1, messages=40 + n) for n in (38, 39)]
    top = (await service.top(CHAT, 30)).members
    assert [m.user_id for m in top[:2]] == [39, 38]
    assert top == await full_read()
    # Past UTC midnight, still 1 April in Tokyo: the UTC day that was today still counts.
    clock.advance(3 * 3600)
    rollups.days[CHAT].append(MemberDay(5, utc_today + timedelta(days=1), 1, messages=99))
    top = (await service.top(CHAT, 30)).members
    assert [m.user_id for m in top[:3]] == [5, 39, 38]
    assert top == await full_read()
