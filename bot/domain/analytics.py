"""Analytics measures as pure functions over the rollups: activity, interaction, retention,
heatmap, segments and churn warnings, each counted in the group's own time zone.

Inputs are what the rollups hold (UTC hours and UTC days with an active-hours mask), so a
measure never needs the raw events and can be tested on hand-built histories.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from operator import itemgetter
from statistics import median
from typing import NamedTuple
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class HourTotals:
    """A group's counts in one UTC hour."""

    hour: datetime  # aware, UTC, on the hour
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    joins: int = 0
    leaves: int = 0


class MemberDay(NamedTuple):
    """One member's activity on one UTC day; bit h of `active_hours` is UTC hour h.

    A named tuple rather than a frozen dataclass: reports build one per member per active day
    (125,000 for 90 days of a 300,000-event group), and a tuple is built three times faster.
    """

    user_id: int
    day: date  # UTC
    active_hours: int = 0
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    replies_received: int = 0
    reactions_received: int = 0


@dataclass(frozen=True, slots=True)
class Response:
    """A message that got a reply or reaction from someone else."""

    message_id: int
    posted_at: datetime  # aware, UTC
    first_reply_at: datetime | None
    replies: int
    reactions: int


@dataclass(frozen=True, slots=True)
class Membership:
    """When a member was first seen and joined, and who invited them (from `members`)."""

    user_id: int
    first_seen_at: datetime  # aware, UTC
    joined_at: datetime | None = None
    invited_by_user_id: int | None = None


# --- local time -------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _local_split(zone: ZoneInfo, day: date) -> tuple[tuple[date, int], ...]:
    """The local dates a UTC day's 24 hours fall on, each with the mask of its hours.

    A report reads many member-days but few distinct days, so the zone arithmetic runs once
    per day, not once per member and hour.
    """
    start = datetime.combine(day, time.min, tzinfo=UTC)
    masks: dict[date, int] = {}
    for hour in range(24):
        local = (start + timedelta(hours=hour)).astimezone(zone).date()
        masks[local] = masks.get(local, 0) | 1 << hour
    return tuple(masks.items())


def local_active_days(day: MemberDay, zone: ZoneInfo) -> set[date]:
    """The local dates a UTC member-day's active hours fall on (one or two)."""
    mask = day.active_hours
    return {local for local, hours in _local_split(zone, day.day) if mask & hours}


def active_days_by_member(days: Iterable[MemberDay], zone: ZoneInfo) -> dict[int, set[date]]:
    """Each member's active local dates.

    Rows come by day (the rollup's order), so a day's split is looked up once for its run of
    rows; a row whose hours fall in one local date, as most do, costs a bit test and an add.
    """
    found: dict[int, set[date]] = {}
    current: date | None = None
    first_local = date.min
    first_hours = second_hours = 0
    second_local = date.min
    for user_id, day, mask, *_ in days:
        if not mask:
            continue
        if day != current:
            current = day
            split = _local_split(zone, day)
            first_local, first_hours = split[0]
            second_local, second_hours = split[1] if len(split) > 1 else (date.min, 0)
        dates = found.get(user_id)
        if dates is None:
            dates = found[user_id] = set()
        if mask & first_hours:
            dates.add(first_local)
        if mask & second_hours:
            dates.add(second_local)
    return found


def members_by_day(days: Iterable[MemberDay], zone: ZoneInfo) -> dict[date, set[int]]:
    """The members active on each local date (dates with no one active are absent).

    The day-first view of `active_days_by_member`: activity, retention and the trend count
    members per day and per window, which is a union of a few sets per day here instead of a
    pass over every member's dates.
    """
    found: dict[date, set[int]] = {}
    current: date | None = None
    first_hours = second_hours = 0
    first: set[int] = set()
    second: set[int] = set()
    for user_id, day, mask, *_ in days:
        if not mask:
            continue
        if day != current:  # rows come by day: the day's split once for its run of rows
            current = day
            split = _local_split(zone, day)
            first_local, first_hours = split[0]
            first = found.setdefault(first_local, set())
            if len(split) > 1:
                second_local, second_hours = split[1]
                second = found.setdefault(second_local, set())
            else:
                second_hours = 0
        if mask & first_hours:
            first.add(user_id)
        if mask & second_hours:
            second.add(user_id)
    return {day: members for day, members in found.items() if members}


class ActiveDays(Mapping[date, Set[int]]):
    """Members active on each local date: `kept` dates, which do not change for the rest of a
    local day, and `recent` ones read now (a date may be in both; its members are the union).

    A union over dates up to the last (a window ending today) takes the kept dates' part from
    `unions`, built once per first date and shared by the calls of the local day: the windows of
    a large group hold hundreds of thousands of member-days, and each report asks for several.
    """

    def __init__(
        self,
        kept: Mapping[date, Set[int]],
        recent: Mapping[date, Set[int]] | None = None,
        unions: dict[date, frozenset[int]] | None = None,
    ) -> None:
        self._kept = kept
        self._recent = recent or {}
        self._unions = unions if unions is not None else {}
        self._last_kept = max(kept, default=date.min)

    def __getitem__(self, day: date) -> Set[int]:
        kept, recent = self._kept.get(day), self._recent.get(day)
        if kept is None or recent is None:
            found = kept if kept is not None else recent
            if found is None:
                raise KeyError(day)
            return found
        return kept | recent

    def __iter__(self) -> Iterator[date]:
        return iter(self._kept.keys() | self._recent.keys())

    def __len__(self) -> int:
        return len(self._kept.keys() | self._recent.keys())

    def between(self, first: date, last: date) -> Set[int]:
        """Everyone active on a date in [first, last]."""
        if last < self._last_kept:
            return _union(self, first, last)
        kept = self._unions.get(first)
        if kept is None:
            kept = self._unions[first] = frozenset(_union(self._kept, first, last))
        recent = [m for day, m in self._recent.items() if first <= day <= last]
        return kept.union(*recent) if recent else kept


def _union(by_day: Mapping[date, Set[int]], first: date, last: date) -> set[int]:
    found: set[int] = set()
    for day in local_day_span(first, last):
        active = by_day.get(day)
        if active:
            found.update(active)
    return found


def active_between(by_day: Mapping[date, Set[int]], first: date, last: date) -> Set[int]:
    """The members active on any local date in [first, last]."""
    if isinstance(by_day, ActiveDays):
        return by_day.between(first, last)
    return _union(by_day, first, last)


def local_day_span(first: date, last: date) -> list[date]:
    """Every date from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def utc_span(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local days [first, last] as a half-open UTC span (DST-aware)."""
    since = datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return since, until


# --- activity ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activity:
    """A group's activity over the local days [first, last]."""

    first: date
    last: date
    messages: int
    messages_per_day: float
    active_members: int  # posted or reacted on any day of the window
    daily_active: float  # mean over the window's days, quiet days counted as 0
    weekly_active: int  # the window's last 7 days
    monthly_active: int  # the window's last 30 days
    stickiness: float  # mean daily active over the last 30 days ÷ monthly active
    new_members: int  # first seen in the window
    returning_members: int  # active in the window, first seen before it
    joins: int
    leaves: int

    @property
    def net_growth(self) -> int:
        return self.joins - self.leaves


def daily_active_counts(
    by_day: Mapping[date, Set[int]], first: date, last: date
) -> dict[date, int]:
    """How many were active on each local day in [first, last]."""
    empty: set[int] = set()
    return {day: len(by_day.get(day, empty)) for day in local_day_span(first, last)}


def activity(
    days: Iterable[MemberDay],
    hours: Iterable[HourTotals],
    memberships: Iterable[Membership],
    zone: ZoneInfo,
    first: date,
    last: date,
) -> Activity:
    """Activity over the local days [first, last] (`days` and `hours` should reach 29 days
    before `last` for the monthly figures, and may reach further: what is outside is ignored).

    Active means posted or reacted: Telegram tells a bot nothing of members who only read.
    """
    since, until = utc_span(first, last, zone)
    new = {m.user_id for m in memberships if since <= m.first_seen_at < until}
    return activity_of(members_by_day(days, zone), hours, new, zone, first, last)


def activity_of(
    by_day: Mapping[date, Set[int]],
    hours: Iterable[HourTotals],
    new: Set[int],
    zone: ZoneInfo,
    first: date,
    last: date,
) -> Activity:
    """`activity` from the members active on each local day (`members_by_day`; days outside
    the window are ignored).

    `new` are the members first seen in the window; anyone active in the window and not first
    seen in it is returning.
    """
    since, until = utc_span(first, last, zone)
    in_window = [h for h in hours if since <= h.hour < until]
    month_first = last - timedelta(days=29)
    week_first = last - timedelta(days=6)
    start = min(first, month_first)
    # Who was active from each day that begins a window on.
    since_day = {day: active_between(by_day, day, last) for day in {first, month_first, week_first}}
    daily = daily_active_counts(by_day, start, last)
    monthly = since_day[month_first]
    in_window_members = since_day[first]
    window_days = [daily[day] for day in local_day_span(first, last)]
    messages = sum(h.messages for h in in_window)
    span = len(window_days)
    return Activity(
        first=first,
        last=last,
        messages=messages,
        messages_per_day=messages / span,
        active_members=len(in_window_members),
        daily_active=sum(window_days) / span,
        weekly_active=len(since_day[week_first]),
        monthly_active=len(monthly),
        stickiness=(
            sum(daily[day] for day in local_day_span(month_first, last)) / 30 / len(monthly)
        )
        if monthly
        else 0.0,
        new_members=len(new),
        returning_members=len(in_window_members - new),
        joins=sum(h.joins for h in in_window),
        leaves=sum(h.leaves for h in in_window),
    )


def messages_per_local_day(
    hours: Iterable[HourTotals], zone: ZoneInfo, first: date, last: date
) -> dict[date, int]:
    """Messages on each local day in [first, last] (the trend chart)."""
    counts = dict.fromkeys(local_day_span(first, last), 0)
    for hour in hours:
        day = hour.hour.astimezone(zone).date()
        if day in counts:
            counts[day] += hour.messages
    return counts


@dataclass(frozen=True, slots=True)
class DaySummary:
    """A group's counts on one local day (the daily export)."""

    day: date
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    active_members: int = 0  # posted or reacted that local day
    joins: int = 0
    leaves: int = 0


def daily_summary(
    hours: Iterable[HourTotals],
    days: Iterable[MemberDay],
    zone: ZoneInfo,
    first: date,
    last: date,
) -> list[DaySummary]:
    """Each local day in [first, last], quiet days included, oldest first."""
    totals = {day: [0, 0, 0, 0, 0] for day in local_day_span(first, last)}
    for hour in hours:
        counts = totals.get(hour.hour.astimezone(zone).date())
        if counts is not None:
            for n, value in enumerate(
                (hour.messages, hour.replies, hour.reactions, hour.joins, hour.leaves)
            ):
                counts[n] += value
    active = daily_active_counts(members_by_day(days, zone), first, last)
    return [
        DaySummary(day, m, r, x, active[day], j, lv) for day, (m, r, x, j, lv) in totals.items()
    ]


# --- interaction ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interaction:
    """How members answer each other over a window."""

    messages: int
    replies_per_message: float  # replies from others, per message posted
    reactions_per_message: float
    responded_share: float  # messages that got any reply or reaction from someone else
    median_first_reply: timedelta | None  # None when no message got a reply


@dataclass(frozen=True, slots=True)
class ResponseTotals:
    """What the messages posted in a window got from others: how many got any response, the
    replies and reactions they got, and the median wait for the first reply."""

    answered: int = 0
    replies: int = 0
    reactions: int = 0
    median_first_reply: timedelta | None = None  # None when no message got a reply

    @classmethod
    def of(cls, responses: Iterable[Response]) -> ResponseTotals:
        """The totals of these responses (the database sums them itself)."""
        answered = list(responses)
        waits = [r.first_reply_at - r.posted_at for r in answered if r.first_reply_at is not None]
        return cls(
            answered=len(answered),
            replies=sum(r.replies for r in answered),
            reactions=sum(r.reactions for r in answered),
            median_first_reply=timedelta(seconds=median(w.total_seconds() for w in waits))
            if waits
            else None,
        )


def combined_totals(
    kept: ResponseTotals,
    kept_waits: Sequence[float],
    recent: ResponseTotals,
    recent_waits: Sequence[float],
) -> ResponseTotals:
    """The totals of two sets of messages from each one's sums and sorted first-reply waits
    (in seconds): the median of the two together without merging them."""
    count = len(kept_waits) + len(recent_waits)
    middle = (
        (
            _kth(kept_waits, recent_waits, (count - 1) // 2)
            + _kth(kept_waits, recent_waits, count // 2)
        )
        / 2
        if count
        else None
    )
    return ResponseTotals(
        answered=kept.answered + recent.answered,
        replies=kept.replies + recent.replies,
        reactions=kept.reactions + recent.reactions,
        median_first_reply=timedelta(seconds=middle) if middle is not None else None,
    )


def _kth(a: Sequence[float], b: Sequence[float], k: int) -> float:
    """The k-th smallest (from 0) of two sorted sequences together, in O(log) steps."""
    low, high = max(0, k - len(b)), min(k, len(a))  # how many of the k smaller come from `a`
    while low < high:
        taken = (low + high) // 2
        if a[taken] < b[k - taken - 1]:
            low = taken + 1  # a[taken] is among the k smaller: take more from `a`
        else:
            high = taken
    rest = k - low
    if low == len(a):
        return b[rest]
    if rest == len(b):
        return a[low]
    return min(a[low], b[rest])


def interaction(
    hours: Iterable[HourTotals], responses: ResponseTotals, since: datetime, until: datetime
) -> Interaction:
    """Interaction for messages posted in [since, until) (`responses`: of those messages)."""
    messages = sum(h.messages for h in hours if since <= h.hour < until)
    per = 1 / messages if messages else 0.0
    return Interaction(
        messages=messages,
        replies_per_message=responses.replies * per,
        reactions_per_message=responses.reactions * per,
        responded_share=min(1.0, responses.answered * per),
        median_first_reply=responses.median_first_reply,
    )


# --- heatmap ----------------------------------------------------------------------------------


def heatmap(hours: Iterable[HourTotals], zone: ZoneInfo) -> list[list[int]]:
    """Messages by local weekday (rows, Monday first) and local hour (columns)."""
    grid = [[0] * 24 for _ in range(7)]
    for hour in hours:
        local = hour.hour.astimezone(zone)
        grid[local.weekday()][local.hour] += hour.messages
    return grid


# --- retention --------------------------------------------------------------------------------

RETENTION_WEEKS = 8


@dataclass(frozen=True, slots=True)
class Cohort:
    """Members who joined in one local week, and the share active in each later week."""

    week: date  # the Monday the cohort's week starts on
    size: int
    # Week k (1 to 8) after the join week: the share active then, None while it has not begun.
    retained: tuple[float | None, ...]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def retention(
    memberships: Iterable[Membership],
    days: Iterable[MemberDay],
    zone: ZoneInfo,
    first_week: date,
    today: date,
) -> list[Cohort]:
    """Weekly join cohorts from the week of `first_week` to this one, oldest first.

    A member's cohort is the local week they joined (or, with no join recorded, were first
    seen); a member who left and came back keeps the week of their latest join.
    """
    return retention_of(memberships, members_by_day(days, zone), zone, first_week, today)


def retention_of(
    memberships: Iterable[Membership],
    by_day: Mapping[date, Set[int]],
    zone: ZoneInfo,
    first_week: date,
    today: date,
) -> list[Cohort]:
    """`retention` from the members active on each local day (`members_by_day`).

    `memberships` need only hold the members who joined (or were first seen) from the week of
    `first_week` on: older cohorts are not reported.
    """
    cohorts: dict[date, set[int]] = {}
    for member in memberships:
        start = (member.joined_at or member.first_seen_at).astimezone(zone).date()
        cohorts.setdefault(week_start(start), set()).add(member.user_id)
    this_week = week_start(today)
    weekly: dict[date, Set[int]] = {}  # who was active in the week starting each Monday

    def active_in(monday: date) -> Set[int]:
        found = weekly.get(monday)
        if found is None:
            found = weekly[monday] = active_between(by_day, monday, monday + _WEEK)
        return found

    result = []
    week = week_start(first_week)
    while week <= this_week:
        members = cohorts.get(week, set())
        retained: list[float | None] = []
        for k in range(1, RETENTION_WEEKS + 1):
            begins = week + timedelta(weeks=k)
            if begins > today or not members:
                retained.append(None)
                continue
            retained.append(len(members & active_in(begins)) / len(members))
        result.append(Cohort(week=week, size=len(members), retained=tuple(retained)))
        week += timedelta(weeks=1)
    return result


_WEEK = timedelta(days=6)  # a week's last day, from its first


# --- segments ---------------------------------------------------------------------------------


class Segment(StrEnum):
    """Where a member stands, from recency, frequency and contribution scores (1 to 5)."""

    CHAMPION = "champion"
    LOYAL = "loyal"
    PROMISING = "promising"
    NEW = "new"
    NEEDS_ATTENTION = "needs_attention"
    AT_RISK = "at_risk"
    HIBERNATING = "hibernating"
    LOST = "lost"


class Tag(StrEnum):
    """A behaviour seen in a member's messages, beside their segment."""

    ASKER = "asker"  # many of their messages get replies
    ANSWERER = "answerer"  # many of their messages are replies to others
    LURKER_TURNED_POSTER = "lurker_turned_poster"  # only reacted at first, then posted
    PROMOTER = "promoter"  # brought members in by invitation


@dataclass(frozen=True, slots=True)
class SegmentRules:
    """Thresholds for segments and tags.

    Scores come from quintiles of the group's own members when it has at least
    `quantile_min_members` members active in the lookback; a smaller group uses the fixed
    cut points below, so two members are not scored against each other. Cut points are the
    lowest value for scores 2, 3, 4 and 5 (recency: the most days silent).
    """

    lookback_days: int = 90
    new_days: int = 14  # first seen this recently: "new", whatever the scores
    quantile_min_members: int = 20
    recency_days: tuple[int, int, int, int] = (30, 14, 7, 3)
    frequency_days: tuple[int, int, int, int] = (2, 5, 10, 20)
    contribution: tuple[int, int, int, int] = (1, 5, 20, 50)
    tag_min_messages: int = 3
    tag_share: float = 0.5  # asker: replies received; answerer: replies sent, per message
    lurker_days: int = 14  # reacting only for at least this long before the first message
    promoter_invites: int = 2


class MemberScore(NamedTuple):
    """One member's standing in a group (a named tuple, as `MemberDay`: a large group scores
    tens of thousands at each `/segments`)."""

    user_id: int
    last_active: date
    days_silent: int
    active_days: int
    contribution: int  # replies and reactions their messages received
    recency: int
    frequency: int
    contribution_score: int
    segment: Segment
    tags: frozenset[Tag]


_USER_ID = itemgetter(MemberScore._fields.index("user_id"))
_ACTIVE_DAYS = itemgetter(MemberScore._fields.index("active_days"))
_DAYS_SILENT = itemgetter(MemberScore._fields.index("days_silent"))


def _score(value: float, cuts: Sequence[float]) -> int:
    """1 plus how many cut points `value` reaches (cut points ascend)."""
    return 1 + bisect_right(cuts, value)


def _quintile_cuts(values: Sequence[float]) -> tuple[float, ...]:
    """Cut points splitting `values` into five groups of about equal size."""
    ordered = sorted(values)
    return tuple(ordered[len(ordered) * k // 5] for k in range(1, 5))


def _segment(r: int, f: int, c: int, is_new: bool) -> Segment:
    if is_new:
        return Segment.NEW
    if r >= 4 and f >= 4 and c >= 4:
        return Segment.CHAMPION
    if r >= 3 and f >= 4:
        return Segment.LOYAL
    if r >= 4:
        return Segment.PROMISING
    if r == 3:
        return Segment.NEEDS_ATTENTION
    if f >= 3:
        return Segment.AT_RISK
    if r == 2:
        return Segment.HIBERNATING
    return Segment.LOST


@dataclass(slots=True)
class MemberHistory:
    """What segments need of one member's days, gathered in one pass. Every field is a union,
    a minimum or a sum, so histories of two sets of days merge into the history of both."""

    active: set[date] = field(default_factory=set)  # local days in the lookback
    earliest: date | None = None  # the first local day active at all
    first_post: date | None = None  # the first local day with a message
    first_day: date | None = None  # the first UTC day with any row
    messages: int = 0
    replies: int = 0
    replies_received: int = 0
    earned: int = 0  # replies and reactions received

    def merged(self, other: MemberHistory) -> MemberHistory:
        """The history of both sets of days (neither is changed)."""
        return MemberHistory(
            active=self.active | other.active,
            earliest=_earlier(self.earliest, other.earliest),
            first_post=_earlier(self.first_post, other.first_post),
            first_day=_earlier(self.first_day, other.first_day),
            messages=self.messages + other.messages,
            replies=self.replies + other.replies,
            replies_received=self.replies_received + other.replies_received,
            earned=self.earned + other.earned,
        )


def _earlier(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)


def merge_histories(
    old: Mapping[int, MemberHistory],
    new: Mapping[int, MemberHistory],
    memo: dict[int, tuple[MemberHistory, MemberHistory]] | None = None,
) -> dict[int, MemberHistory]:
    """Members' histories over two sets of days (untouched members' entries are shared).

    With `memo` (each member's last `new` history and what it merged into, kept across calls
    with the same `old`), a member whose new history is unchanged gets the same merged object
    again, so `KeptScores` knows their score still holds.
    """
    merged = dict(old)
    for user_id, history in new.items():
        known = memo.get(user_id) if memo is not None else None
        if known is not None and known[0] == history:
            merged[user_id] = known[1]
            continue
        before = merged.get(user_id)
        merged[user_id] = history if before is None else before.merged(history)
        if memo is not None:
            memo[user_id] = (history, merged[user_id])
    return merged


def _histories(
    days: Iterable[MemberDay], zone: ZoneInfo, first: date, today: date
) -> dict[int, MemberHistory]:
    histories: dict[int, MemberHistory] = {}
    current: date | None = None
    split: tuple[tuple[date, int, bool], ...] = ()
    for user_id, day, mask, messages, replies, _, received, reactions_received in days:
        history = histories.get(user_id)
        if history is None:
            history = histories[user_id] = MemberHistory()
        if day != current:  # rows come by day: the day's split once for its run of rows
            current = day
            split = tuple(
                (local, hours, first <= local <= today) for local, hours in _local_split(zone, day)
            )
        earliest = day
        if mask:
            seen = False
            for local, hours, inside in split:  # in time order
                if mask & hours:
                    if not seen:
                        earliest, seen = local, True
                    if inside:
                        history.active.add(local)
            if history.earliest is None or earliest < history.earliest:
                history.earliest = earliest
        if messages and (history.first_post is None or earliest < history.first_post):
            history.first_post = earliest
        if history.first_day is None or day < history.first_day:
            history.first_day = day
        history.messages += messages
        history.replies += replies
        history.replies_received += received
        history.earned += received + reactions_received
    return histories


def member_histories(
    days: Iterable[MemberDay], zone: ZoneInfo, today: date, rules: SegmentRules | None = None
) -> dict[int, MemberHistory]:
    """Each member's history over `days`, active days counted within the lookback."""
    rules = rules or SegmentRules()
    return _histories(days, zone, today - timedelta(days=rules.lookback_days - 1), today)


def segments(
    days: Iterable[MemberDay],
    memberships: Iterable[Membership],
    zone: ZoneInfo,
    today: date,
    rules: SegmentRules | None = None,
) -> list[MemberScore]:
    """Score and segment every member active in the lookback, most recent first."""
    rules = rules or SegmentRules()
    memberships = list(memberships)
    return score_members(
        member_histories(days, zone, today, rules),
        seen_dates(memberships, zone),
        invitations(memberships, zone, today - timedelta(days=rules.lookback_days - 1)),
        today,
        rules,
    )


def seen_dates(memberships: Iterable[Membership], zone: ZoneInfo) -> dict[int, date]:
    """The local date each member was first seen on."""
    return {m.user_id: m.first_seen_at.astimezone(zone).date() for m in memberships}


def invitations(memberships: Iterable[Membership], zone: ZoneInfo, first: date) -> dict[int, int]:
    """How many members each inviter brought in who joined on `first` (a local date) or later."""
    invited: dict[int, int] = {}
    for member in memberships:
        joined = member.joined_at
        if (
            member.invited_by_user_id is not None
            and joined is not None
            and joined.astimezone(zone).date() >= first
        ):
            invited[member.invited_by_user_id] = invited.get(member.invited_by_user_id, 0) + 1
    return invited


class Cuts(NamedTuple):
    """Where the recency, frequency and contribution scores step up (ascending; tuples, so
    the cuts a set of scores was made with can key a cache of them)."""

    recency: tuple[float, ...]
    frequency: tuple[float, ...]
    contribution: tuple[float, ...]


def _segment_cuts(
    facts: Sequence[tuple[int, MemberHistory, date]], today: date, rules: SegmentRules
) -> Cuts:
    """The cut points for these members (`(user_id, history, last active)` each): quintiles of
    the group's own values once it has enough members, the rules' defaults before."""
    if len(facts) >= rules.quantile_min_members:
        # Fewer days silent is better: score recency on negated days.
        return Cuts(
            _quintile_cuts([(last - today).days for *_, last in facts]),
            _quintile_cuts([len(h.active) for _, h, _ in facts]),
            _quintile_cuts([h.earned for _, h, _ in facts]),
        )
    return Cuts(tuple(-d for d in rules.recency_days), rules.frequency_days, rules.contribution)


def _score_member(
    user_id: int,
    history: MemberHistory,
    last: date,
    seen: date | None,
    invited: int,
    today: date,
    cuts: Cuts,
    rules: SegmentRules,
) -> MemberScore:
    seen = seen or history.first_day or last
    quiet = (today - last).days
    active_days = len(history.active)
    r = _score(-quiet, cuts.recency)
    f = _score(active_days, cuts.frequency)
    c = _score(history.earned, cuts.contribution)
    return MemberScore(
        user_id=user_id,
        last_active=last,
        days_silent=quiet,
        active_days=active_days,
        contribution=history.earned,
        recency=r,
        frequency=f,
        contribution_score=c,
        segment=_segment(r, f, c, (today - seen).days < rules.new_days),
        tags=_tags(history, seen, invited, rules),
    )


@dataclass(slots=True)
class KeptScores:
    """Scores to reuse across calls of `score_members` on one day's histories.

    A score depends only on the member's history, first day seen and invitations, the day and
    the cut points. So a member given the same history object as last time (a kept one, or a
    merged one `merge_histories` gave again), with the same invitations and cut points, keeps
    their score; everyone else is scored again, and a change of cut points drops every score.
    """

    last: dict[int, tuple[MemberHistory, date]]  # each history's last active day
    cuts: Cuts | None = None
    # By member: the history and invitations scored, and the score.
    scores: dict[int, tuple[MemberHistory, int, MemberScore]] = field(default_factory=dict)

    @classmethod
    def of(cls, histories: Mapping[int, MemberHistory]) -> KeptScores:
        return cls({user: (h, max(h.active)) for user, h in histories.items() if h.active})


def score_members(
    histories: Mapping[int, MemberHistory],
    seen_on: Mapping[int, date],
    invited: Mapping[int, int],
    today: date,
    rules: SegmentRules | None = None,
    kept: KeptScores | None = None,
) -> list[MemberScore]:
    """Score and segment every member with an active day in the lookback, most recent first.

    `seen_on` is each member's first local date seen (`seen_dates`; a member without one counts
    from their first day in `histories`), `invited` the members each brought in over the
    lookback (`invitations`); `kept`, scores of an earlier call on the same day to reuse.
    """
    rules = rules or SegmentRules()
    kept = kept or KeptScores({})
    facts = []
    last_of = kept.last
    for user_id, history in histories.items():
        if not history.active:
            continue
        known = last_of.get(user_id)
        if known is None or known[0] is not history:  # (inlined: 56,000 calls in a big group)
            known = last_of[user_id] = (history, max(history.active))
        facts.append((user_id, history, known[1]))
    cuts = _segment_cuts(facts, today, rules)
    if cuts != kept.cuts:
        kept.cuts = cuts
        kept.scores.clear()
    scores = []
    for user_id, history, last in facts:
        count = invited.get(user_id, 0)
        hit = kept.scores.get(user_id)
        if hit is not None and hit[0] is history and hit[1] == count:
            scores.append(hit[2])
            continue
        score = _score_member(
            user_id, history, last, seen_on.get(user_id), count, today, cuts, rules
        )
        kept.scores[user_id] = (history, count, score)
        scores.append(score)
    return ranked(scores)


def ranked(scores: list[MemberScore]) -> list[MemberScore]:
    """Most recently active first, then the most active days, then by id (in place).

    Three stable sorts on one field each, least significant first: a key function building a
    tuple per member took twice as long for a group of 56,000.
    """
    scores.sort(key=_USER_ID)
    scores.sort(key=_ACTIVE_DAYS, reverse=True)  # reverse keeps equal members in order
    scores.sort(key=_DAYS_SILENT)
    return scores


_TAG_ORDER = (Tag.ASKER, Tag.ANSWERER, Tag.LURKER_TURNED_POSTER, Tag.PROMOTER)
# Every combination of tags, built once: bit k of the index is `_TAG_ORDER[k]`.
_TAG_SETS = tuple(
    frozenset(tag for k, tag in enumerate(_TAG_ORDER) if bits >> k & 1)
    for bits in range(1 << len(_TAG_ORDER))
)


def _tags(history: MemberHistory, seen: date, invited: int, rules: SegmentRules) -> frozenset[Tag]:
    bits = 0
    messages = history.messages
    if messages >= rules.tag_min_messages:
        if history.replies_received >= rules.tag_share * messages:
            bits |= 1  # asker
        if history.replies >= rules.tag_share * messages:
            bits |= 2  # answerer
    first_post = history.first_post
    if (
        first_post is not None
        # Active on an earlier day without posting: they reacted (or edited) first.
        and history.earliest is not None
        and history.earliest < first_post
        and (first_post - seen).days >= rules.lurker_days
    ):
        bits |= 4  # lurker turned poster
    if invited >= rules.promoter_invites:
        bits |= 8  # promoter
    return _TAG_SETS[bits]


# --- churn warning ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChurnRules:
    """When a member's silence is a warning sign.

    A member is flagged once their silence exceeds `gap_multiple` times their usual gap (the
    median gap between their active days), but never later than `latest_flag_days`: with
    `gone_days` of silence counting as gone, that leaves the 14 days of lead the operators
    asked for, even for members whose rhythm is slow. `floor_days` keeps a daily poster's
    weekend from raising a flag. Members need `min_active_days` to have a rhythm.
    """

    gap_multiple: float = 3.0
    floor_days: int = 7
    latest_flag_days: int = 16
    gone_days: int = 30
    min_active_days: int = 4


@dataclass(frozen=True, slots=True)
class ChurnWarning:
    """A member whose silence exceeds their own rhythm, and why."""

    user_id: int
    last_active: date
    days_silent: int
    usual_gap_days: float  # the median gap between their active days
    threshold_days: int  # silence beyond this raised the flag


def _threshold(gaps: Sequence[int], rules: ChurnRules) -> tuple[float, int] | None:
    """The usual gap and the flagging threshold from the sorted gaps between a member's active
    days, if they have enough active days for a rhythm."""
    if len(gaps) + 1 < rules.min_active_days:
        return None
    mid = len(gaps) // 2
    usual = gaps[mid] if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2
    limit = max(rules.floor_days, round(rules.gap_multiple * usual))
    return usual, min(limit, rules.latest_flag_days)


def _gaps(active: Sequence[date]) -> list[int]:
    return sorted((b - a).days for a, b in pairwise(active))


def churn_warnings(
    active: Mapping[int, set[date]], today: date, rules: ChurnRules | None = None
) -> list[ChurnWarning]:
    """Members silent longer than their rhythm predicts, but not yet gone; longest silent first.

    `active` is each member's active local days (`active_days_by_member`).
    """
    rules = rules or ChurnRules()
    warnings = []
    for user_id, dates in active.items():
        days = sorted(d for d in dates if d <= today)
        found = _threshold(_gaps(days), rules)
        if found is None:
            continue
        usual, limit = found
        silent = (today - days[-1]).days
        if limit < silent < rules.gone_days:
            warnings.append(ChurnWarning(user_id, days[-1], silent, usual, limit))
    warnings.sort(key=lambda w: (-w.days_silent, w.user_id))
    return warnings


@dataclass(frozen=True, slots=True)
class BackTest:
    """How the churn warning would have done on a group's own history."""

    flagged: int  # warnings whose outcome is known
    went_silent: int  # of those, members silent `gone_days` or more after the flag
    missed: int  # members gone for `gone_days` without a warning first
    median_lead_days: float | None  # days from the warning to the day they counted as gone

    @property
    def precision(self) -> float | None:
        return self.went_silent / self.flagged if self.flagged else None


def back_test(
    active: Mapping[int, set[date]], today: date, rules: ChurnRules | None = None
) -> BackTest:
    """Replay the churn warning over every silence in the history.

    Each silence after an active day is judged with the rhythm known on that day: it raises a
    warning if it outlasts the threshold; the warning was right if the silence reached
    `gone_days`. Silences still open and too short to tell are left out.
    """
    rules = rules or ChurnRules()
    flagged = right = missed = 0
    leads: list[int] = []
    for dates in active.values():
        days = sorted(d for d in dates if d <= today)
        gaps: list[int] = []  # sorted, between the active days up to `last`
        for n, last in enumerate(days):
            if n:
                insort(gaps, (last - days[n - 1]).days)
            later = days[n + 1] if n + 1 < len(days) else None
            silence = (later - last).days - 1 if later else (today - last).days
            gone = silence >= rules.gone_days
            if later is None and not gone:
                # Still silent: too early to tell whether a warning would be right.
                continue
            found = _threshold(gaps, rules)
            if found is None:
                missed += gone
                continue
            limit = found[1]
            if silence <= limit:
                continue
            flagged += 1
            if gone:
                right += 1
                leads.append(rules.gone_days - (limit + 1))
    return BackTest(
        flagged=flagged,
        went_silent=right,
        missed=missed,
        median_lead_days=median(leads) if leads else None,
    )


# --- top members ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopMember:
    """A member's messages and the responses their messages earned over a window."""

    user_id: int
    messages: int
    replies_received: int
    reactions_received: int


def top_members(totals: Iterable[TopMember], limit: int = 10) -> list[TopMember]:
    """The members who posted most, then earned most responses (ties by id); members who only
    reacted are left out."""
    ranked = sorted(
        (t for t in totals if t.messages),
        key=lambda t: (-t.messages, -t.replies_received - t.reactions_received, t.user_id),
    )
    return ranked[:limit]


def top_with_recent(
    kept: Mapping[int, TopMember],
    ranked: Sequence[TopMember],
    recent: Iterable[TopMember],
    limit: int = 10,
) -> list[TopMember]:
    """`top_members` of `kept` (ranked already: `ranked`) plus `recent` totals (added to the
    same members' kept ones), without ranking everyone again.

    Totals only grow, so whoever ranks below the kept first `limit` still has `limit` members
    above them: the kept first `limit` and the members with recent totals are the candidates.
    """
    added: dict[int, TopMember] = {}
    for t in recent:
        before = kept.get(t.user_id)
        added[t.user_id] = (
            t
            if before is None
            else TopMember(
                t.user_id,
                before.messages + t.messages,
                before.replies_received + t.replies_received,
                before.reactions_received + t.reactions_received,
            )
        )
    unchanged = (t for t in ranked[:limit] if t.user_id not in added)
    return top_members([*unchanged, *added.values()], limit)


# --- command arguments ------------------------------------------------------------------------

PERIOD_DAYS = (7, 30, 90)
PERIOD_FORMS = tuple(f"{days}d" for days in PERIOD_DAYS)


def parse_period(words: str | None, default: int) -> int | None:
    """A report period, `7d`, `30d` or `90d` (`天` for `d` too), as days; nothing means
    `default`; anything else is None, for the caller to answer with the accepted forms."""
    if words is None or not words.strip():
        return default
    word = words.strip().lower().replace("天", "d")
    for days, form in zip(PERIOD_DAYS, PERIOD_FORMS, strict=True):
        if word == form:
            return days
    return None
