"""Content's pure parts: the state machine, `<when>` across DST in two zones, quiet hours."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.content import (
    ContentAction as A,
)
from bot.domain.content import (
    ContentState as S,
)
from bot.domain.content import (
    Every,
    Once,
    QuietHours,
    Rule,
    StepRefused,
    WhenError,
    after_quiet,
    occurrence_key,
    parse_quiet,
    parse_when,
    step,
)
from bot.recurrence import next_run

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_happy_path_from_idea_to_reviewed() -> None:
    state = S.IDEA
    for action, expected in [
        (A.WRITE, S.DRAFT),
        (A.APPROVE, S.APPROVED),
        (A.SCHEDULE, S.SCHEDULED),
        (A.PUBLISH, S.PUBLISHED),
        (A.MEASURE, S.MEASURED),
        (A.REVIEW, S.REVIEWED),
    ]:
        state = step(state, action)
        assert state is expected


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (S.IDEA, A.APPROVE),  # an idea has no text yet
        (S.IDEA, A.SCHEDULE),
        (S.DRAFT, A.SCHEDULE),  # approve first
        (S.PUBLISHED, A.CANCEL),
        (S.CANCELLED, A.RESUME),
        (S.SCHEDULED, A.RESUME),
        (S.PAUSED, A.PUBLISH),  # a paused item never goes out
        (S.REVIEWED, A.REVIEW),
        (S.SCHEDULED, A.MEASURE),
        (S.REJECTED, A.WRITE),
    ],
)
def test_refused_transitions_say_why(state: S, action: A) -> None:
    with pytest.raises(StepRefused) as refused:
        step(state, action)
    assert refused.value.refusal.state is state
    assert refused.value.refusal.reason


def test_pause_resume_cancel_defer() -> None:
    assert step(S.SCHEDULED, A.PAUSE) is S.PAUSED
    assert step(S.PAUSED, A.RESUME) is S.SCHEDULED
    assert step(S.PAUSED, A.CANCEL) is S.CANCELLED
    assert step(S.SCHEDULED, A.DEFER) is S.DEFERRED
    assert step(S.DEFERRED, A.PUBLISH) is S.PUBLISHED
    assert step(S.SCHEDULED, A.MISS) is S.MISSED
    assert step(S.MISSED, A.SCHEDULE) is S.SCHEDULED
    assert step(S.SCHEDULED, A.FAIL) is S.FAILED


def test_a_recurring_item_stays_scheduled_after_each_post() -> None:
    for action in (A.PUBLISH, A.MISS, A.FAIL):
        assert step(S.SCHEDULED, action, recurring=True) is S.SCHEDULED


def _when(text: str, now: datetime = NOW, zone: str = "Europe/Berlin") -> Once | Every:
    return parse_when(text, now, zone, next_run)


def test_one_off_times_in_the_groups_zone() -> None:
    assert _when("tomorrow 20:00") == Once(datetime(2026, 12, 2, 19, 0, tzinfo=UTC))
    assert _when("2026-12-24 08:00") == Once(datetime(2026, 12, 24, 7, 0, tzinfo=UTC))
    assert _when("2026-12-24 08:00", zone="Asia/Shanghai") == Once(
        datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    )
    assert _when("2026-12-24 08:00 UTC") == Once(datetime(2026, 12, 24, 8, 0, tzinfo=UTC))
    # A bare time is its next one: 20:00 today, 08:00 tomorrow (it is 13:00 in Berlin).
    assert _when("20:00") == Once(datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    assert _when("08:00") == Once(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tomorrow 25:00", "There is no time"),
        ("tomorrow 20:61", "There is no time"),
        ("2026-11-30 08:00", "already passed"),
        ("today 08:00", "already passed"),
        ("2026-02-30 08:00", "There is no date"),
        ("tomorrow 20:00 Mars/Olympus", "not a time zone"),
        ("yearly feb 30 08:00", "never happens"),
        ("every funday 08:00", "not a day of the week"),
        ("daily", "Give the time too"),
        ("next week", "not a time I can read"),
        ("tomorrow 8pm", "is not a time"),
        ("", "Say when"),
        ("monthly 32 08:00", "not a day of the month"),
    ],
)
def test_bad_times_get_a_clear_error(text: str, problem: str) -> None:
    with pytest.raises(WhenError) as error:
        _when(text)
    assert problem in str(error.value)


def test_rules_read() -> None:
    every = _when("every mon,thu 20:00")
    assert isinstance(every, Every)
    assert every.rule == Rule(20, 0, ("mon", "thu"))
    assert every.first == datetime(2026, 12, 3, 19, 0, tzinfo=UTC)  # Thursday
    daily = _when("daily 08:00")
    assert isinstance(daily, Every) and daily.rule == Rule(8, 0)
    assert daily.first == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert _when("every thursday,monday 20:00") == every  # order and spelling do not matter
    for text in ("every mon,thu 20:00", "daily 08:00", "monthly 1 09:00", "yearly dec 24 08:00"):
        rule = _when(text)
        assert isinstance(rule, Every) and rule.rule.text() == text


def _runs(rule: Rule, start: datetime, zone: str, count: int) -> list[datetime]:
    runs, at = [], start
    for _ in range(count):
        nxt = next_run(rule, at, zone)
        assert nxt is not None
        runs.append(nxt)
        at = nxt
    return runs


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        # Europe/Berlin: last Sundays of March and October; America/New_York: 2nd Sunday of
        # March, 1st of November.
        ("Europe/Berlin", datetime(2027, 3, 26, tzinfo=UTC), datetime(2027, 10, 29, tzinfo=UTC)),
        ("America/New_York", datetime(2027, 3, 12, tzinfo=UTC), datetime(2027, 11, 5, tzinfo=UTC)),
    ],
)
def test_a_daily_rule_keeps_its_wall_time_across_both_changes(
    zone: str, spring: datetime, autumn: datetime
) -> None:
    tz = ZoneInfo(zone)
    for start in (spring, autumn):
        runs = _runs(Rule(20, 0), start, zone, 4)
        assert [r.astimezone(tz).time() for r in runs] == [time(20, 0)] * 4
        offsets = {r.astimezone(tz).utcoffset() for r in runs}
        assert len(offsets) == 2  # the change fell inside these four days
        gaps = {b - a for a, b in itertools.pairwise(runs)}
        assert gaps == {timedelta(hours=24), timedelta(hours=23)} or gaps == {
            timedelta(hours=24),
            timedelta(hours=25),
        }


@pytest.mark.parametrize(
    ("zone", "spring_day", "autumn_day", "repeated"),
    [
        # The gap is 02:00–03:00 in both; the repeated hour is 02:00–03:00 in Berlin and
        # 01:00–02:00 in New York.
        ("Europe/Berlin", (2027, 3, 28), (2027, 10, 31), Rule(2, 30)),
        ("America/New_York", (2027, 3, 14), (2027, 11, 7), Rule(1, 30)),
    ],
)
def test_a_rule_inside_the_changing_hour_runs_once_each_day(
    zone: str, spring_day: tuple[int, int, int], autumn_day: tuple[int, int, int], repeated: Rule
) -> None:
    tz = ZoneInfo(zone)
    # Spring: 02:30 does not exist that day; the post goes just past the gap (03:30), once.
    day = datetime(*spring_day, tzinfo=tz)
    runs = _runs(Rule(2, 30), (day - timedelta(days=1)).astimezone(UTC), zone, 3)
    local = [r.astimezone(tz) for r in runs]
    assert [t.date() for t in local] == [(day + timedelta(days=i)).date() for i in (-1, 0, 1)]
    assert [t.time() for t in local] == [time(2, 30), time(3, 30), time(2, 30)]
    # Autumn: the wall time happens twice that day; the post goes out at the first, once.
    day = datetime(*autumn_day, tzinfo=tz)
    runs = _runs(repeated, (day - timedelta(days=1)).astimezone(UTC), zone, 3)
    local = [r.astimezone(tz) for r in runs]
    assert [t.date() for t in local] == [(day + timedelta(days=i)).date() for i in (-1, 0, 1)]
    assert local[1].fold == 0 and local[1].hour == repeated.hour


def test_a_one_off_time_in_the_gap_moves_past_it_and_an_ambiguous_one_is_the_first() -> None:
    spring = _when("2027-03-28 02:30", now=NOW)
    assert spring == Once(datetime(2027, 3, 28, 1, 30, tzinfo=UTC))  # 03:30 CEST
    autumn = _when("2027-10-31 02:30", now=NOW)
    assert autumn == Once(datetime(2027, 10, 31, 0, 30, tzinfo=UTC))  # 02:30 CEST, the first


def test_quiet_hours_parse() -> None:
    assert parse_quiet("23:00-07:00") == QuietHours(time(23), time(7))
    assert parse_quiet("off") is None
    for bad in ("23:00", "25:00-07:00", "07:00-07:00", "late"):
        with pytest.raises(WhenError):
            parse_quiet(bad)


@pytest.mark.parametrize(
    ("local", "moved_to"),
    [
        ("2026-12-01 23:30", "2026-12-02 07:00"),  # late evening: to tomorrow morning
        ("2026-12-02 03:00", "2026-12-02 07:00"),  # early morning: to this morning
        ("2026-12-02 07:00", None),  # the end is not quiet
        ("2026-12-01 22:59", None),
        ("2026-12-01 23:00", "2026-12-02 07:00"),  # the start is
    ],
)
def test_quiet_hours_move_a_post_to_their_end(local: str, moved_to: str | None) -> None:
    tz = ZoneInfo("Europe/Berlin")
    at = datetime.fromisoformat(local).replace(tzinfo=tz).astimezone(UTC)
    quiet = QuietHours(time(23), time(7))
    result = after_quiet(at, quiet, "Europe/Berlin")
    expected = at if moved_to is None else datetime.fromisoformat(moved_to).replace(tzinfo=tz)
    assert result == expected
    assert after_quiet(at, None, "Europe/Berlin") == at


def test_daytime_quiet_hours_and_a_dst_morning() -> None:
    quiet = QuietHours(time(12), time(14))
    at = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)  # 13:30 Berlin
    assert after_quiet(at, quiet, "Europe/Berlin") == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    # The quiet night over the spring change ends at 07:00 summer time.
    night = QuietHours(time(23), time(7))
    at = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # 01:30 CET
    assert after_quiet(at, night, "Europe/Berlin") == datetime(2027, 3, 28, 5, 0, tzinfo=UTC)


def test_an_occurrence_has_one_key() -> None:
    at = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)
    assert occurrence_key(7, at) == occurrence_key(7, at.astimezone(ZoneInfo("Asia/Tokyo")))
    assert occurrence_key(7, at) != occurrence_key(8, at)
    assert occurrence_key(7, at) != occurrence_key(7, at + timedelta(days=1))


def test_settings_quiet_reads_a_period_or_off() -> None:
    from bot.domain.group_settings import SetQuietHours, SettingsInputError, parse_settings

    assert parse_settings("quiet 23:00-07:00") == SetQuietHours("23:00", "07:00")
    assert parse_settings("quiet 23:00 - 07:00") == SetQuietHours("23:00", "07:00")
    assert parse_settings("quiet off") == SetQuietHours(None, None)
    for bad in ("quiet", "quiet 25:00-07:00", "quiet 07:00-07:00", "quiet late"):
        with pytest.raises(SettingsInputError):
            parse_settings(bad)
