"""The analytics measures on hand-built histories with known answers."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.analytics import (
    ActiveDays,
    ChurnRules,
    Cohort,
    HourTotals,
    KeptScores,
    MemberDay,
    MemberHistory,
    MemberScore,
    Membership,
    Response,
    ResponseTotals,
    Segment,
    SegmentRules,
    Tag,
    TopMember,
    active_days_by_member,
    activity,
    back_test,
    churn_warnings,
    heatmap,
    interaction,
    local_active_days,
    member_histories,
    merge_histories,
    messages_per_local_day,
    parse_period,
    ranked,
    retention,
    score_members,
    seen_dates,
    segments,
    top_members,
    top_with_recent,
    utc_span,
)

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")  # DST began 2025-03-09 at 02:00 local
TOKYO = ZoneInfo("Asia/Tokyo")


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def active(user_id: int, day: date, *hours: int, **counts: int) -> MemberDay:
    """A member-day active in the given UTC hours (noon if none given)."""
    mask = 0
    for hour in hours or (12,):
        mask |= 1 << hour
    return MemberDay(user_id, day, active_hours=mask, **counts)


def on_days(user_id: int, first: date, count: int, every: int = 1) -> list[MemberDay]:
    return [active(user_id, first + timedelta(days=n * every)) for n in range(count)]


# --- local time -----------------------------------------------------------------------------


def test_a_utc_day_can_fall_on_two_local_days() -> None:
    day = active(1, date(2025, 3, 1), 15, 17)  # 23:00 and 01:00 in Shanghai
    assert local_active_days(day, ZoneInfo("Asia/Shanghai")) == {date(2025, 3, 1), date(2025, 3, 2)}
    assert local_active_days(day, UTC_ZONE) == {date(2025, 3, 1)}


def test_a_local_day_across_the_dst_change_is_23_hours() -> None:
    since, until = utc_span(date(2025, 3, 9), date(2025, 3, 9), NEW_YORK)
    assert since == datetime(2025, 3, 9, 5, tzinfo=UTC)
    assert until == datetime(2025, 3, 10, 4, tzinfo=UTC)


def test_messages_per_local_day_follow_the_dst_change() -> None:
    hours = [
        HourTotals(datetime(2025, 3, 9, 4, tzinfo=UTC), messages=1),  # Sat 23:00 EST
        HourTotals(datetime(2025, 3, 10, 3, tzinfo=UTC), messages=2),  # Sun 23:00 EDT
        HourTotals(datetime(2025, 3, 10, 4, tzinfo=UTC), messages=4),  # Mon 00:00 EDT
    ]
    assert messages_per_local_day(hours, NEW_YORK, date(2025, 3, 8), date(2025, 3, 10)) == {
        date(2025, 3, 8): 1,
        date(2025, 3, 9): 2,
        date(2025, 3, 10): 4,
    }


def test_heatmap_is_local_weekday_by_local_hour() -> None:
    hours = [
        HourTotals(datetime(2025, 3, 8, 7, tzinfo=UTC), messages=3),  # Sat 02:00 EST
        HourTotals(datetime(2025, 3, 9, 7, tzinfo=UTC), messages=5),  # Sun 03:00 EDT
        HourTotals(datetime(2025, 3, 16, 7, tzinfo=UTC), messages=1),  # Sun 03:00 EDT
    ]
    grid = heatmap(hours, NEW_YORK)
    assert grid[5][2] == 3 and grid[6][3] == 6
    assert sum(map(sum, grid)) == 9
    assert heatmap([], NEW_YORK) == [[0] * 24 for _ in range(7)]


# --- activity -------------------------------------------------------------------------------

LAST = date(2025, 3, 30)
FIRST = date(2025, 3, 24)  # a 7-day window


def test_activity_of_an_empty_group_is_all_zero() -> None:
    result = activity([], [], [], UTC_ZONE, FIRST, LAST)
    assert (result.messages, result.active_members, result.monthly_active) == (0, 0, 0)
    assert (result.daily_active, result.stickiness, result.net_growth) == (0.0, 0.0, 0)


def test_activity_of_a_one_member_group() -> None:
    days = [active(1, date(2025, 3, d)) for d in (10, 24, 30)]
    hours = [HourTotals(at(date(2025, 3, d)), messages=2) for d in (10, 24, 30)]
    result = activity(days, hours, [Membership(1, at(date(2025, 3, 10)))], UTC_ZONE, FIRST, LAST)
    assert (result.messages, result.messages_per_day) == (4, 4 / 7)
    assert (result.active_members, result.weekly_active, result.monthly_active) == (1, 1, 1)
    assert result.daily_active == 2 / 7
    assert result.stickiness == pytest.approx(3 / 30)
    assert (result.new_members, result.returning_members) == (0, 1)


def test_activity_counts_new_returning_and_members_who_came_back() -> None:
    a, b, c = 1, 2, 3
    days = [
        *(active(a, date(2025, 3, d)) for d in (1, 24, 25, 30)),
        active(b, date(2025, 3, 26)),
        # C was active early in the month, left on the 20th and came back on the 27th.
        active(c, date(2025, 3, 2)),
        active(c, date(2025, 3, 28)),
    ]
    hours = [
        HourTotals(at(date(2025, 3, 20)), leaves=1),
        HourTotals(at(date(2025, 3, 26)), joins=1, messages=1),
        HourTotals(at(date(2025, 3, 27)), joins=1),
    ]
    members = [
        Membership(a, at(date(2025, 3, 1))),
        Membership(b, at(date(2025, 3, 26)), joined_at=at(date(2025, 3, 26))),
        Membership(c, at(date(2025, 3, 2)), joined_at=at(date(2025, 3, 27))),
    ]
    result = activity(days, hours, members, UTC_ZONE, FIRST, LAST)
    assert result.active_members == 3
    assert result.daily_active == 5 / 7  # one member on each of five days
    assert (result.weekly_active, result.monthly_active) == (3, 3)
    assert result.stickiness == pytest.approx(7 / 30 / 3)
    assert (result.new_members, result.returning_members) == (1, 2)
    assert (result.joins, result.leaves, result.net_growth) == (2, 0, 2)


def test_activity_days_are_local_days_across_dst() -> None:
    # 23:30 on Saturday (EST) and 23:30 on Sunday (EDT): two local days, though the UTC
    # hours are 04 and 03.
    days = [
        active(1, date(2025, 3, 9), 4),
        active(1, date(2025, 3, 10), 3),
    ]
    result = activity(days, [], [], NEW_YORK, date(2025, 3, 9), date(2025, 3, 9))
    assert (result.active_members, result.daily_active) == (1, 1.0)
    saturday = activity(days, [], [], NEW_YORK, date(2025, 3, 8), date(2025, 3, 8))
    assert saturday.active_members == 1
    monday = activity(days, [], [], NEW_YORK, date(2025, 3, 10), date(2025, 3, 10))
    assert monday.active_members == 0


# --- interaction ----------------------------------------------------------------------------

SINCE = datetime(2025, 3, 1, tzinfo=UTC)
UNTIL = datetime(2025, 3, 8, tzinfo=UTC)


def test_interaction_per_message_share_and_median_first_reply() -> None:
    hours = [HourTotals(SINCE + timedelta(hours=n), messages=2) for n in range(5)]
    t = SINCE + timedelta(hours=1)
    responses = [
        Response(1, t, t + timedelta(minutes=10), replies=1, reactions=0),
        Response(2, t, t + timedelta(minutes=30), replies=2, reactions=1),
        Response(3, t, None, replies=0, reactions=3),
    ]
    outside = HourTotals(UNTIL, messages=7)
    result = interaction([*hours, outside], ResponseTotals.of(responses), SINCE, UNTIL)
    assert result.messages == 10
    assert result.replies_per_message == pytest.approx(0.3)
    assert result.reactions_per_message == pytest.approx(0.4)
    assert result.responded_share == pytest.approx(0.3)
    assert result.median_first_reply == timedelta(minutes=20)


def test_interaction_of_a_quiet_group() -> None:
    result = interaction([], ResponseTotals(), SINCE, UNTIL)
    assert (result.messages, result.responded_share, result.median_first_reply) == (0, 0.0, None)


# --- retention ------------------------------------------------------------------------------


def test_weekly_cohorts_and_the_share_active_in_later_weeks() -> None:
    x, y, z, w = 1, 2, 3, 4
    members = [
        Membership(x, at(date(2025, 3, 3)), joined_at=at(date(2025, 3, 3))),
        Membership(y, at(date(2025, 3, 5)), joined_at=at(date(2025, 3, 5))),
        # Z was first seen on the 12th, left, and joined again on the 19th: the later week.
        Membership(z, at(date(2025, 3, 12)), joined_at=at(date(2025, 3, 19))),
    ]
    days = [
        active(x, date(2025, 3, 10)),
        active(x, date(2025, 3, 24)),
        active(y, date(2025, 3, 11)),
        active(z, date(2025, 3, 25)),
    ]
    cohorts = retention(members, days, UTC_ZONE, date(2025, 3, 3), today=date(2025, 3, 26))
    none6 = (None,) * 6
    assert cohorts == [
        Cohort(date(2025, 3, 3), 2, (1.0, 0.0, 0.5, None, None, None, None, None)),
        Cohort(date(2025, 3, 10), 0, (None,) * 8),
        Cohort(date(2025, 3, 17), 1, (1.0, None, *none6)),
        Cohort(date(2025, 3, 24), 0, (None,) * 8),
    ]
    # Sunday 23:30 UTC is Monday in Tokyo: the member belongs to the next week's cohort.
    late = Membership(w, datetime(2025, 3, 9, 23, 30, tzinfo=UTC), joined_at=None)
    tokyo = retention([late], [], TOKYO, date(2025, 3, 3), today=date(2025, 3, 12))
    assert [(c.week, c.size) for c in tokyo] == [(date(2025, 3, 3), 0), (date(2025, 3, 10), 1)]


def test_retention_of_an_empty_group() -> None:
    cohorts = retention([], [], UTC_ZONE, date(2025, 3, 3), today=date(2025, 3, 5))
    assert cohorts == [Cohort(date(2025, 3, 3), 0, (None,) * 8)]


# --- segments -------------------------------------------------------------------------------

TODAY = date(2025, 6, 30)
LONG_AGO = at(date(2025, 1, 1))


def _ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _small_group() -> tuple[list[MemberDay], list[Membership]]:
    days = [
        *(active(1, _ago(n), replies_received=3) for n in range(20)),  # champion
        *(active(2, _ago(80 + n)) for n in range(3)),  # lost
        *(active(3, _ago(20 + n)) for n in range(12)),  # at risk
        active(4, _ago(2)),  # new
        active(5, _ago(20)),  # hibernating
        *(active(6, _ago(10 + n)) for n in range(3)),  # needs attention
        *(active(7, _ago(5 + n)) for n in range(12)),  # loyal
        *(active(8, _ago(1 + n)) for n in range(2)),  # promising
    ]
    members = [Membership(user, LONG_AGO) for user in (1, 2, 3, 5, 6, 7, 8)]
    members.append(Membership(4, at(_ago(5))))
    return days, members


def test_segments_of_a_small_group_use_the_default_cut_points() -> None:
    days, members = _small_group()
    by_user = {s.user_id: s for s in segments(days, members, UTC_ZONE, TODAY)}
    assert {user: s.segment for user, s in by_user.items()} == {
        1: Segment.CHAMPION,
        2: Segment.LOST,
        3: Segment.AT_RISK,
        4: Segment.NEW,
        5: Segment.HIBERNATING,
        6: Segment.NEEDS_ATTENTION,
        7: Segment.LOYAL,
        8: Segment.PROMISING,
    }
    champion = by_user[1]
    assert (champion.recency, champion.frequency, champion.contribution_score) == (5, 5, 5)
    assert (champion.days_silent, champion.active_days, champion.contribution) == (0, 20, 60)


def test_segments_of_a_large_group_use_its_own_quintiles() -> None:
    # 25 members active on 1 to 25 days: quintile cut points 6, 11, 16 and 21 active days.
    days = [d for user in range(1, 26) for d in on_days(user, _ago(user - 1), user)]
    members = [Membership(user, LONG_AGO) for user in range(1, 26)]
    frequency = {s.user_id: s.frequency for s in segments(days, members, UTC_ZONE, TODAY)}
    assert (frequency[1], frequency[5], frequency[6], frequency[21], frequency[25]) == (
        1,
        1,
        2,
        5,
        5,
    )
    # With the small-group defaults, 6 active days would have scored 3.
    fixed = SegmentRules(quantile_min_members=26)
    assert {s.user_id: s.frequency for s in segments(days, members, UTC_ZONE, TODAY, fixed)}[6] == 3
    assert segments([], members, UTC_ZONE, TODAY) == []


def test_tags_asker_answerer_lurker_turned_poster_and_promoter() -> None:
    asker = [active(1, _ago(n), messages=1, replies_received=1) for n in range(4)]
    answerer = [active(2, _ago(n), messages=1, replies=1) for n in range(4)]
    # Reacted only for three weeks after first seen, then posted.
    lurker = [active(3, _ago(40), reactions=1), active(3, _ago(15), messages=1)]
    promoter = [active(4, _ago(1), messages=1)]
    members = [
        Membership(1, LONG_AGO),
        Membership(2, LONG_AGO),
        Membership(3, at(_ago(40))),
        Membership(4, LONG_AGO),
        *(
            Membership(10 + n, at(_ago(3)), joined_at=at(_ago(3)), invited_by_user_id=4)
            for n in range(2)
        ),
    ]
    tags = {
        s.user_id: s.tags
        for s in segments([*asker, *answerer, *lurker, *promoter], members, UTC_ZONE, TODAY)
    }
    assert tags == {
        1: {Tag.ASKER},
        2: {Tag.ANSWERER},
        3: {Tag.LURKER_TURNED_POSTER},
        4: {Tag.PROMOTER},
    }


# --- churn ----------------------------------------------------------------------------------

MARCH_31 = date(2025, 3, 31)


def _active(*days: MemberDay) -> dict[int, set[date]]:
    return active_days_by_member(days, UTC_ZONE)


def test_a_member_silent_beyond_their_rhythm_is_flagged_with_the_reason() -> None:
    every_other_day = on_days(1, date(2025, 3, 1), 11, every=2)  # last active on the 21st
    daily = on_days(2, date(2025, 3, 1), 28)  # last active on the 28th
    gone = on_days(3, date(2025, 1, 1), 10)  # silent since January: gone, not a warning
    too_few = on_days(4, date(2025, 3, 1), 3)  # no rhythm yet
    slow = on_days(5, date(2025, 1, 1), 7, every=10)  # every 10 days; last on 3/2
    warnings = churn_warnings(_active(*every_other_day, *daily, *gone, *too_few, *slow), MARCH_31)
    assert [(w.user_id, w.days_silent, w.usual_gap_days, w.threshold_days) for w in warnings] == [
        (5, 29, 10, 16),  # 3 x 10 days, capped to keep 14 days of lead
        (1, 10, 2, 7),  # 3 x 2 days, raised to the 7-day floor
    ]


def test_churn_on_an_empty_group() -> None:
    assert churn_warnings({}, MARCH_31) == []
    assert back_test({}, MARCH_31).precision is None


def test_back_test_counts_right_and_wrong_warnings_and_the_lead() -> None:
    # P posts every other day, goes silent for 38 days, comes back: a right warning.
    p = [*on_days(1, date(2025, 1, 1), 11, every=2), *on_days(1, date(2025, 3, 1), 10)]
    # Q posts daily, pauses 10 days (a wrong warning), posts again, then is gone (right).
    q = [*on_days(2, date(2025, 1, 1), 10), *on_days(2, date(2025, 1, 21), 4)]
    # R is gone after two days: no rhythm, so missed.
    r = on_days(3, date(2025, 1, 1), 2)
    result = back_test(_active(*p, *q, *r), MARCH_31)
    assert (result.flagged, result.went_silent, result.missed) == (3, 2, 1)
    assert result.precision == pytest.approx(2 / 3)
    assert result.median_lead_days == 22  # flagged after 8 silent days, gone after 30


def test_back_test_leaves_out_silences_too_recent_to_judge() -> None:
    daily = on_days(1, date(2025, 3, 1), 20)  # silent 11 days by the 31st: undecided
    assert back_test(_active(*daily), MARCH_31) == back_test({}, MARCH_31)


def test_churn_rules_are_adjustable() -> None:
    every_other_day = on_days(1, date(2025, 3, 1), 11, every=2)
    strict = ChurnRules(floor_days=12)
    assert churn_warnings(_active(*every_other_day), MARCH_31, strict) == []


# --- command arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "days"),
    [
        (None, 7),
        ("", 7),
        ("  ", 7),
        ("7d", 7),
        ("30d", 30),
        (" 90D ", 90),
        ("30天", 30),
        ("7x", None),
        ("7", None),
        ("14d", None),
        ("30d 90d", None),
        ("-7d", None),
    ],
)
def test_parse_period(words: str | None, days: int | None) -> None:
    assert parse_period(words, default=7) == days


def test_member_histories_of_two_sets_of_days_merge_into_the_whole() -> None:
    rng = random.Random(12)
    today = date(2025, 3, 12)  # New York changed to daylight time on 9 March
    days = [
        MemberDay(
            user,
            today - timedelta(days=back),
            rng.getrandbits(24) if rng.random() < 0.8 else 0,
            messages=rng.randrange(3),
            replies=rng.randrange(2),
            replies_received=rng.randrange(2),
            reactions_received=rng.randrange(3),
        )
        for user in range(1, 40)
        for back in range(91)
        if rng.random() < 0.3
    ]
    members = [Membership(u, at(today - timedelta(days=rng.randrange(120)))) for u in range(1, 40)]
    whole = segments(days, members, NEW_YORK, today)
    for split in (today - timedelta(days=40), today - timedelta(days=1), today):
        before = [d for d in days if d.day < split]
        after = [d for d in days if d.day >= split]
        merged = merge_histories(
            member_histories(before, NEW_YORK, today), member_histories(after, NEW_YORK, today)
        )
        assert merged == member_histories(days, NEW_YORK, today)
        seen = seen_dates(members, NEW_YORK)
        assert score_members(merged, seen, {}, today) == whole


def test_scores_rank_the_most_recent_then_the_most_active_then_by_id() -> None:
    def score(user_id: int, silent: int, active: int) -> MemberScore:
        return MemberScore(
            user_id, date(2025, 3, 1), silent, active, 0, 1, 1, 1, Segment.LOST, frozenset()
        )

    order = [score(9, 0, 5), score(3, 0, 2), score(4, 0, 2), score(1, 2, 9), score(2, 7, 1)]
    shuffled = [order[n] for n in (4, 2, 0, 3, 1)]
    assert ranked(shuffled) == order


def test_kept_scores_are_reused_only_for_members_whose_history_did_not_change() -> None:
    today = date(2025, 3, 12)  # two members: the rules' fixed cut points, the same each call
    old = {
        1: MemberHistory(active={today - timedelta(days=20)}, first_day=date(2025, 1, 1)),
        2: MemberHistory(active={today - timedelta(days=3)}, first_day=date(2025, 1, 1)),
    }
    kept = KeptScores.of(old)
    first = score_members(old, {}, {}, today, kept=kept)
    back = {**old, 1: old[1].merged(MemberHistory(active={today}))}  # member 1 came back
    again = score_members(back, {}, {}, today, kept=kept)
    assert again == score_members(back, {}, {}, today)
    assert [(s.user_id, s.days_silent) for s in again] == [(1, 0), (2, 3)]
    assert again[1] is first[0]  # member 2's score, kept


def test_merged_histories_are_the_same_objects_while_the_recent_days_do_not_change() -> None:
    """A member active again today is merged once: later calls with the same recent history
    give the same merged object, whose score is then kept too."""
    today = date(2025, 3, 12)
    old = {1: MemberHistory(active={today - timedelta(days=20)}, first_day=date(2025, 1, 1))}
    kept, memo = KeptScores.of(old), {}
    recent = {1: MemberHistory(active={today}, messages=1)}
    first = merge_histories(old, recent, memo)
    scored = score_members(first, {}, {}, today, kept=kept)
    again = merge_histories(old, {1: MemberHistory(active={today}, messages=1)}, memo)
    assert again[1] is first[1]
    assert score_members(again, {}, {}, today, kept=kept)[0] is scored[0]
    more = merge_histories(old, {1: MemberHistory(active={today}, messages=2)}, memo)
    assert more[1] is not first[1] and more[1].messages == 2
    assert score_members(more, {}, {}, today, kept=kept) == score_members(more, {}, {}, today)


def test_the_top_with_todays_totals_is_the_top_of_everything_summed() -> None:
    rng = random.Random(4)
    for _ in range(200):
        kept = {
            u: TopMember(u, rng.randrange(4), rng.randrange(3), rng.randrange(3))
            for u in rng.sample(range(60), rng.randrange(40))
        }
        recent = [
            TopMember(u, rng.randrange(5), rng.randrange(3), 0)
            for u in rng.sample(range(60), rng.randrange(8))
        ]
        summed = dict(kept)
        for t in recent:
            k = summed.get(t.user_id, TopMember(t.user_id, 0, 0, 0))
            summed[t.user_id] = TopMember(
                t.user_id,
                k.messages + t.messages,
                k.replies_received + t.replies_received,
                k.reactions_received + t.reactions_received,
            )
        ranked = top_members(kept.values(), len(kept))
        limit = rng.randrange(1, 12)
        assert top_with_recent(kept, ranked, recent, limit) == top_members(summed.values(), limit)


def test_active_days_unions_kept_and_recent_dates_for_any_window() -> None:
    """A window ending at the last date takes the kept part from the shared unions; a window
    ending earlier is its own dates' union, whatever was kept before."""
    day = date(2025, 3, 1)
    kept = {day + timedelta(days=n): {n, 100} for n in range(10)}
    recent = {day + timedelta(days=9): {200}, day + timedelta(days=10): {300}}
    unions: dict[date, frozenset[int]] = {}
    last = day + timedelta(days=10)
    days = ActiveDays(kept, recent, unions)
    assert days.between(day + timedelta(days=8), last) == {8, 9, 100, 200, 300}
    assert unions  # the kept part is shared with the next call of the day
    again = ActiveDays(kept, {}, unions)
    assert again.between(day + timedelta(days=8), last) == {8, 9, 100}
    # Earlier windows, from a first date already kept and from another: only their own dates.
    assert days.between(day + timedelta(days=8), day + timedelta(days=8)) == {8, 100}
    assert days.between(day, day + timedelta(days=2)) == {0, 1, 2, 100}
    assert days[day + timedelta(days=9)] == {9, 100, 200}
    assert set(days) == set(kept) | set(recent)
