"""Analytics reports for one group, read from the rollups in the group's time zone."""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bot.domain.analytics import (
    RETENTION_WEEKS,
    ActiveDays,
    Activity,
    BackTest,
    ChurnWarning,
    Cohort,
    DaySummary,
    HourTotals,
    Interaction,
    KeptScores,
    MemberDay,
    MemberHistory,
    MemberScore,
    ResponseTotals,
    TopMember,
    active_between,
    active_days_by_member,
    activity,
    activity_of,
    back_test,
    churn_warnings,
    combined_totals,
    daily_active_counts,
    daily_summary,
    heatmap,
    interaction,
    member_histories,
    members_by_day,
    merge_histories,
    messages_per_local_day,
    retention_of,
    score_members,
    seen_dates,
    segments,
    top_members,
    top_with_recent,
    utc_span,
    week_start,
)
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory, WindowStats
from bot.services.stats import WINDOW_DAYS, StatsReport

PERIODS = (7, 30, 90)  # the windows /stats accepts, in days
MONTH_DAYS = 30  # monthly active members and stickiness look back this far
HEATMAP_DAYS = 90
HISTORY_DAYS = 180  # churn rhythms and the back-test read this much history
SEGMENT_DAYS = 90
NAMED_PER_SEGMENT = 3  # /segments names the most recently active few of each segment
LISTED_AT_RISK = 15  # /atrisk names this many, most silent first
LISTED_IN_DIGEST = 10  # the weekly digest names this many members at risk
KEPT_AT_RISK_DAYS = 512  # groups whose day of /atrisk is kept in memory
KEPT_SEGMENT_DAYS = 64  # groups whose members' histories are kept for /segments (larger)
KEPT_ACTIVE_DAYS = 64  # groups whose members' active days are kept (overview, /retention)
KEPT_TOP_DAYS = 64  # groups and periods whose /top totals before today are kept
KEPT_RESPONSE_DAYS = 64  # groups whose messages' responses are kept (the overview's interaction)
# The overview reads responses to messages of today and the days before live; older ones are
# kept as of the local day's first read (an answer that late counts from the next day on).
LIVE_RESPONSE_DAYS = 3


@dataclass(frozen=True, slots=True)
class Overview:
    """Activity and interaction over the last `days` local days, today included."""

    timezone: str
    days: int
    activity: Activity
    interaction: Interaction


@dataclass(frozen=True, slots=True)
class TopReport:
    days: int
    members: list[TopMember]
    names: dict[int, str]


@dataclass(frozen=True, slots=True)
class SegmentReport:
    scores: list[MemberScore]
    names: dict[int, str]  # of the first NAMED_PER_SEGMENT members of each segment


@dataclass(frozen=True, slots=True)
class AtRiskReport:
    warnings: list[ChurnWarning]
    back_test: BackTest
    names: dict[int, str]


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member in the members export: their segment, scores and any churn warning."""

    score: MemberScore
    name: str
    warning: ChurnWarning | None


@dataclass(frozen=True, slots=True)
class WeekReport:
    """A local week (Monday to Sunday) beside the week before, and who is drifting away at its
    end: what the weekly digest reports."""

    week: date  # its Monday
    this: Activity
    before: Activity
    answered: float  # the share of the week's messages that got a reply or reaction
    answered_before: float
    warnings: list[ChurnWarning]
    names: dict[int, str]  # of the first LISTED_IN_DIGEST warned


@dataclass(frozen=True, slots=True)
class Trend:
    """Messages and active members on each local day of a window (the trend chart)."""

    days: list[date]
    messages: list[int]
    active: list[int]


@dataclass(frozen=True, slots=True)
class _AtRiskDay:
    """A group's churn warnings and back-test as computed on its local `day` in `zone`."""

    day: date
    zone: str
    removed: int
    warnings: list[ChurnWarning]
    back_test: BackTest


@dataclass(frozen=True, slots=True)
class _DayMembers:
    """The members active on each local date, over the UTC days before the local `day`'s,
    in `zone`."""

    day: date
    zone: str
    removed: int
    by_day: dict[date, set[int]]
    unions: dict[date, frozenset[int]] = field(default_factory=dict)  # see `ActiveDays`


@dataclass(frozen=True, slots=True)
class _SegmentDay:
    """Members' histories over the UTC days before the local `day`'s, in `zone`."""

    day: date
    zone: str
    removed: int
    histories: dict[int, MemberHistory]
    seen: dict[int, date]  # each member's first local date seen, as of the day's first call
    scores: KeptScores  # the day's scores, for members whose history has not changed
    # Each member's recent history at the last call and what it merged into (`merge_histories`).
    merged: dict[int, tuple[MemberHistory, MemberHistory]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _ResponseDays:
    """Responses to messages posted from a local date to the last before the live days, kept
    for the local `day` in `zone`: by first date, their sums and sorted first-reply waits."""

    day: date
    zone: str
    parts: dict[date, tuple[ResponseTotals, array[float]]]


@dataclass(frozen=True, slots=True)
class _TopDays:
    """Members' totals over the UTC days of a /top window before today's, kept for the local
    `day` in `zone`, and their ranking."""

    day: date
    zone: str
    removed: int
    through: date  # the last UTC day summed
    totals: dict[int, TopMember]
    ranked: list[TopMember]


@dataclass(frozen=True, slots=True)
class _Span:
    zone: ZoneInfo
    first: date  # local
    last: date  # local, today
    since: datetime  # UTC
    until: datetime  # UTC
    removed: int  # the group's removals of memberships so far (`members_removed`)

    def back(self, days: int) -> _Span:
        """The last `days` local days to the same today (nothing read again)."""
        first = self.last - timedelta(days=days - 1)
        since, until = utc_span(first, self.last, self.zone)
        return replace(self, first=first, since=since, until=until)

    def keeps(self, day: date, zone: str, removed: int) -> bool:
        """Whether what was kept on `day` in `zone`, after `removed` removals, still holds:
        the local day is the same, and no one's membership was deleted since (an erasure)."""
        return (day, zone, removed) == (self.last, self.zone.key, self.removed)


@dataclass(frozen=True, slots=True)
class _Read:
    """What the overview, `/stats`'s windows and the trend count from, read once."""

    span: _Span  # the last 30 local days, or more
    by_day: Mapping[date, Set[int]]
    hours: list[HourTotals]


def _trend(read: _Read, days: int) -> Trend:
    last = read.span.last
    first = last - timedelta(days=days - 1)
    messages = messages_per_local_day(read.hours, read.span.zone, first, last)
    active = daily_active_counts(read.by_day, first, last)
    order = sorted(messages)
    return Trend(order, [messages[d] for d in order], [active[d] for d in order])


class AnalyticsService:
    """Reads rollups through the unit of work and hands them to the pure measures."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, default_timezone: str) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._default_timezone = default_timezone
        # Each group's /atrisk of the local day, the most recently asked last.
        self._at_risk_days: OrderedDict[int, _AtRiskDay] = OrderedDict()
        # Each group's members' histories before today's UTC days, for /segments.
        self._segment_days: OrderedDict[int, _SegmentDay] = OrderedDict()
        # Each group's members per local day before today's UTC days (180 days), for the
        # overview, /retention and the trend.
        self._active_days: OrderedDict[int, _DayMembers] = OrderedDict()
        # Each group's /top totals before today's UTC days, by period.
        self._top_days: OrderedDict[tuple[int, int], _TopDays] = OrderedDict()
        # Each group's responses to messages before the live days, for the overview.
        self._response_days: OrderedDict[int, _ResponseDays] = OrderedDict()

    async def _span(self, uow: UnitOfWork, chat_id: int, days: int) -> _Span:
        """The last `days` local days of the group, today included."""
        settings = await uow.groups.get(chat_id)
        zone = ZoneInfo((settings.timezone if settings else None) or self._default_timezone)
        last = self._clock.now().astimezone(zone).date()
        first = last - timedelta(days=days - 1)
        since, until = utc_span(first, last, zone)
        return _Span(zone, first, last, since, until, await uow.rollups.members_removed(chat_id))

    @staticmethod
    async def _days(uow: UnitOfWork, chat_id: int, span: _Span) -> list[MemberDay]:
        # UTC days overlapping the local span; the measures keep the hours inside it.
        last_utc = (span.until - timedelta(microseconds=1)).date()
        return await uow.rollups.member_days(chat_id, span.since.date(), last_utc)

    @staticmethod
    async def _hours(uow: UnitOfWork, chat_id: int, span: _Span) -> list[HourTotals]:
        return await uow.rollups.hour_totals(chat_id, span.since, span.until)

    async def _read(self, uow: UnitOfWork, chat_id: int, days: int) -> _Read:
        span = await self._span(uow, chat_id, max(days, MONTH_DAYS))
        return _Read(
            span,
            await self._by_day(uow, chat_id, span),
            await self._hours(uow, chat_id, span),
        )

    async def stats(self, chat_id: int, days: int) -> tuple[StatsReport, Overview, Trend]:
        """What `/stats` shows: the windows' table, the overview of the last `days` days and
        their trend, from one read of the group's days, members and hours."""
        async with self._uow_factory() as uow:
            read = await self._read(uow, chat_id, days)
            report = await self._group_report(uow, chat_id, read)
            overview = await self._overview(uow, chat_id, read, days)
        return report, overview, _trend(read, days)

    async def overview(self, chat_id: int, days: int) -> Overview:
        """Activity and interaction over the last `days` days (monthly figures: 30 days)."""
        async with self._uow_factory() as uow:
            return await self._overview(uow, chat_id, await self._read(uow, chat_id, days), days)

    async def _overview(self, uow: UnitOfWork, chat_id: int, read: _Read, days: int) -> Overview:
        zone, last = read.span.zone, read.span.last
        first = last - timedelta(days=days - 1)
        since, until = utc_span(first, last, zone)
        new = await uow.rollups.first_seen_between(chat_id, since, until)
        responses = await self._response_totals(uow, chat_id, read.span, first)
        return Overview(
            timezone=zone.key,
            days=days,
            activity=activity_of(read.by_day, read.hours, new, zone, first, last),
            interaction=interaction(read.hours, responses, since, until),
        )

    async def _longest_overview(self, chat_id: int) -> Overview:
        return await self.overview(chat_id, max(PERIODS))

    async def _response_totals(
        self, uow: UnitOfWork, chat_id: int, span: _Span, first: date
    ) -> ResponseTotals:
        """What messages posted on the local days [first, today] got. Responses to messages
        of the last LIVE_RESPONSE_DAYS days are read now; those to older messages are summed,
        and their waits sorted, once a local day per first date: a 90-day window holds
        hundreds of thousands, and their median is a sort the database would redo each time.
        """
        live_first = span.last - timedelta(days=LIVE_RESPONSE_DAYS - 1)
        live_since, until = utc_span(live_first, span.last, span.zone)
        if first >= live_first:
            since, until = utc_span(first, span.last, span.zone)
            return await uow.rollups.response_totals(chat_id, since, until)
        kept = self._response_days.get(chat_id)
        if kept is None or (kept.day, kept.zone) != (span.last, span.zone.key):
            kept = _ResponseDays(span.last, span.zone.key, {})
            self._response_days[chat_id] = kept
            while len(self._response_days) > KEPT_RESPONSE_DAYS:
                self._response_days.popitem(last=False)
        self._response_days.move_to_end(chat_id)
        part = kept.parts.get(first)
        if part is None:
            since, _ = utc_span(first, span.last, span.zone)
            part = (
                await uow.rollups.response_totals(chat_id, since, live_since, median=False),
                array("d", sorted(await uow.rollups.reply_waits(chat_id, since, live_since))),
            )
            kept.parts[first] = part
        return combined_totals(
            *part,
            await uow.rollups.response_totals(chat_id, live_since, until, median=False),
            sorted(await uow.rollups.reply_waits(chat_id, live_since, until)),
        )

    async def _group_report(self, uow: UnitOfWork, chat_id: int, read: _Read) -> StatsReport:
        """Today, 7 and 30 days of messages, active members and joins: `/stats`'s table, as
        `StatsService` reads it in SQL, from the members per local day kept here."""
        span = read.span
        now = self._clock.now()
        firsts = [span.last - timedelta(days=days - 1) for days in WINDOW_DAYS]
        sinces = [utc_span(first, span.last, span.zone)[0] for first in firsts]
        joins = await uow.rollups.joins_since(chat_id, sinces, now)
        windows = []
        for days, first, since, joined in zip(WINDOW_DAYS, firsts, sinces, joins, strict=True):
            start = since.replace(minute=0, second=0, microsecond=0)  # as hours are kept
            stats = WindowStats(
                messages=sum(h.messages for h in read.hours if start <= h.hour < now),
                active_members=len(active_between(read.by_day, first, span.last)),
                new_members=joined,
            )
            windows.append((days, stats))
        return StatsReport(chat_id=chat_id, timezone=span.zone.key, windows=tuple(windows))

    async def _by_day(self, uow: UnitOfWork, chat_id: int, span: _Span) -> Mapping[date, Set[int]]:
        """The members active on each local day over (at least) the days of `span`.

        Up to HISTORY_DAYS they come from `_active_days`, the days before today's UTC days kept
        for the local day, merged with today's member-days read now: the same sets a full read
        gives, since a day's members are the union over its member-days. What was kept is read
        again once anyone's membership is deleted (an erased member's days are gone from the
        database, not from memory)."""
        if span.first < span.last - timedelta(days=HISTORY_DAYS - 1):
            return members_by_day(await self._days(uow, chat_id, span), span.zone)
        span = span.back(HISTORY_DAYS)
        today_since, _ = utc_span(span.last, span.last, span.zone)
        split = today_since.date()  # the first UTC day holding hours of today
        kept = self._active_days.get(chat_id)
        if kept is None or not span.keeps(kept.day, kept.zone, kept.removed):
            before = await uow.rollups.member_days(
                chat_id, span.since.date(), split - timedelta(days=1)
            )
            kept = _DayMembers(
                span.last, span.zone.key, span.removed, members_by_day(before, span.zone)
            )
            self._active_days[chat_id] = kept
            while len(self._active_days) > KEPT_ACTIVE_DAYS:
                self._active_days.popitem(last=False)
        self._active_days.move_to_end(chat_id)
        last_utc = (span.until - timedelta(microseconds=1)).date()
        recent = await uow.rollups.member_days(chat_id, split, last_utc)
        return ActiveDays(kept.by_day, members_by_day(recent, span.zone), kept.unions)

    async def top(self, chat_id: int, days: int = 30, limit: int = 10) -> TopReport:
        """Who posted most over the last `days` days (counted by UTC day). Members' totals
        over the days before today's UTC day are summed and ranked once a local day
        (`_TopDays`); each call adds today's (`top_with_recent`)."""
        async with self._uow_factory() as uow:
            span = await self._span(uow, chat_id, days)
            last_utc = (span.until - timedelta(microseconds=1)).date()
            kept = self._top_days.get((chat_id, days))
            if kept is None or not span.keeps(kept.day, kept.zone, kept.removed):
                through = self._clock.now().date() - timedelta(days=1)
                before = await uow.rollups.member_totals(chat_id, span.since.date(), through)
                kept = _TopDays(
                    span.last,
                    span.zone.key,
                    span.removed,
                    through,
                    {t.user_id: t for t in before},
                    top_members(before, len(before)),
                )
                self._top_days[chat_id, days] = kept
                while len(self._top_days) > KEPT_TOP_DAYS:
                    self._top_days.popitem(last=False)
            self._top_days.move_to_end((chat_id, days))
            recent = await uow.rollups.member_totals(
                chat_id, kept.through + timedelta(days=1), last_utc
            )
            ranked = top_with_recent(kept.totals, kept.ranked, recent, limit)
            names = await uow.rollups.names([m.user_id for m in ranked])
        return TopReport(days, ranked, names)

    async def segments(self, chat_id: int) -> SegmentReport:
        """Every member active in the last 90 days, scored and segmented.

        Members' histories before today's UTC days are kept for the local day (`_SegmentDay`):
        later calls read today's member-days and merge them in, which gives the histories a full
        read would (each field is a union, minimum or sum). The day's first call also reads
        every membership for the local date each member was first seen; a member first seen
        since counts from their first day in the histories, today or yesterday in UTC, which
        makes them new and no lurker all the same. Who invited whom over the lookback is read
        every time (a join today changes who promoted whom); once anyone's membership is
        deleted (an erasure), everything kept is read again.
        """
        async with self._uow_factory() as uow:
            span = await self._span(uow, chat_id, SEGMENT_DAYS)
            today_since, _ = utc_span(span.last, span.last, span.zone)
            split = today_since.date()  # the first UTC day holding hours of today
            kept = self._segment_days.get(chat_id)
            if kept is None or not span.keeps(kept.day, kept.zone, kept.removed):
                before = await uow.rollups.member_days(
                    chat_id, span.since.date(), split - timedelta(days=1)
                )
                histories = member_histories(before, span.zone, span.last)
                kept = _SegmentDay(
                    span.last,
                    span.zone.key,
                    span.removed,
                    histories,
                    seen_dates(await uow.rollups.memberships(chat_id), span.zone),
                    KeptScores.of(histories),
                )
                self._keep_segments(chat_id, kept)
            last_utc = (span.until - timedelta(microseconds=1)).date()
            recent = await uow.rollups.member_days(chat_id, split, last_utc)
            histories = merge_histories(
                kept.histories, member_histories(recent, span.zone, span.last), kept.merged
            )
            scores = score_members(
                histories,
                kept.seen,
                await uow.rollups.invitations(chat_id, span.since),
                span.last,
                kept=kept.scores,
            )
            named: dict[str, list[int]] = {}
            for score in scores:
                shown = named.setdefault(score.segment, [])
                if len(shown) < NAMED_PER_SEGMENT:
                    shown.append(score.user_id)
            names = await uow.rollups.names([user for users in named.values() for user in users])
        return SegmentReport(scores, names)

    async def at_risk(self, chat_id: int) -> AtRiskReport:
        """Members silent beyond their rhythm, and how the warning did on this group's past.

        Silence is counted in whole local days, so the day's warnings change only as members
        come back: the first call of a local day reads the 180 days and keeps the result for
        the day (`_AtRiskDay`); later calls read only today's member-days and drop whoever was
        active today — the same answer as reading everything again. Once anyone's membership
        is deleted (erased or opted out since), the day is read again; the back-test is as of
        the day's first call otherwise.
        """
        async with self._uow_factory() as uow:
            span = await self._span(uow, chat_id, HISTORY_DAYS)
            day = self._at_risk_days.get(chat_id)
            if day is not None and span.keeps(day.day, day.zone, day.removed):
                self._at_risk_days.move_to_end(chat_id)
                since, until = utc_span(span.last, span.last, span.zone)
                last_utc = (until - timedelta(microseconds=1)).date()
                today = await uow.rollups.member_days(chat_id, since.date(), last_utc)
                back = {
                    user
                    for user, dates in active_days_by_member(today, span.zone).items()
                    if span.last in dates
                }
                warnings = [w for w in day.warnings if w.user_id not in back]
            else:
                active = active_days_by_member(await self._days(uow, chat_id, span), span.zone)
                day = _AtRiskDay(
                    span.last,
                    span.zone.key,
                    span.removed,
                    churn_warnings(active, span.last),
                    back_test(active, span.last),
                )
                self._keep(chat_id, day)
                warnings = day.warnings
            known = await uow.rollups.names([w.user_id for w in warnings[:LISTED_AT_RISK]])
        return AtRiskReport(warnings, day.back_test, known)

    async def refresh_kept_days(self) -> int:
        """Read the new local day of what reports keep (/atrisk, /segments, the active days,
        /top, the overview's responses) ahead for the groups asked before, once their day has
        turned, so a moderator's first report of the day does not wait for the long read (the
        tick). Returns how many were read."""
        kept: list[tuple[int, date, str, Callable[[int], Awaitable[object]]]] = [
            *((chat, d.day, d.zone, self.at_risk) for chat, d in self._at_risk_days.items()),
            *((chat, d.day, d.zone, self.segments) for chat, d in self._segment_days.items()),
            *((chat, d.day, d.zone, self.retention) for chat, d in self._active_days.items()),
            *(
                (chat, d.day, d.zone, self._longest_overview)
                for chat, d in self._response_days.items()
            ),
            *(
                (chat, d.day, d.zone, partial(self.top, days=days))
                for (chat, days), d in self._top_days.items()
            ),
        ]
        refreshed = 0
        for chat_id, day, zone, report in kept:
            async with self._uow_factory() as uow:
                span = await self._span(uow, chat_id, 1)
            if (day, zone) != (span.last, span.zone.key):
                await report(chat_id)
                refreshed += 1
        return refreshed

    def _keep_segments(self, chat_id: int, day: _SegmentDay) -> None:
        self._segment_days[chat_id] = day
        self._segment_days.move_to_end(chat_id)
        while len(self._segment_days) > KEPT_SEGMENT_DAYS:
            self._segment_days.popitem(last=False)

    def _keep(self, chat_id: int, day: _AtRiskDay) -> None:
        self._at_risk_days[chat_id] = day
        self._at_risk_days.move_to_end(chat_id)
        while len(self._at_risk_days) > KEPT_AT_RISK_DAYS:
            self._at_risk_days.popitem(last=False)

    async def retention(self, chat_id: int, weeks: int = RETENTION_WEEKS) -> list[Cohort]:
        """Weekly join cohorts of the last `weeks` weeks and this one."""
        async with self._uow_factory() as uow:
            span = await self._span(uow, chat_id, 7 * (weeks + 1))
            first_week = span.last - timedelta(weeks=weeks)
            cohorts_since, _ = utc_span(week_start(first_week), span.last, span.zone)
            cohorts = retention_of(
                await uow.rollups.joined_since(chat_id, cohorts_since),
                await self._by_day(uow, chat_id, span),
                span.zone,
                first_week,
                span.last,
            )
        return cohorts

    async def heatmap(self, chat_id: int, days: int = HEATMAP_DAYS) -> list[list[int]]:
        """Messages by local weekday and hour over the last `days` days."""
        async with self._uow_factory() as uow:
            span = await self._span(uow, chat_id, days)
            return heatmap(await self._hours(uow, chat_id, span), span.zone)

    async def trend(self, chat_id: int, days: int) -> Trend:
        """Messages and active members per local day over the last `days` days."""
        async with self._uow_factory() as uow:
            return _trend(await self._read(uow, chat_id, days), days)

    async def today(self, chat_id: int) -> date:
        """Today's date in the group's time zone."""
        async with self._uow_factory() as uow:
            return (await self._span(uow, chat_id, 1)).last

    async def daily(self, chat_id: int, days: int) -> list[DaySummary]:
        """Each local day of the last `days` days, today included, oldest first."""
        async with self._uow_factory() as uow:
            span = await self._span(uow, chat_id, days)
            member_days = await self._days(uow, chat_id, span)
            hours = await self._hours(uow, chat_id, span)
        return daily_summary(hours, member_days, span.zone, span.first, span.last)

    async def members(self, chat_id: int) -> list[MemberRow]:
        """Every member active in the last 90 days: segment, tags, scores, and whether they
        are drifting away (their rhythm read over 180 days); most recently active first."""
        async with self._uow_factory() as uow:
            span = await self._span(uow, chat_id, HISTORY_DAYS)
            history = await self._days(uow, chat_id, span)
            # Scored over the same 90 days as /segments.
            recent = span.back(SEGMENT_DAYS).since.date()
            scores = segments(
                [day for day in history if day.day >= recent],
                await uow.rollups.memberships(chat_id),
                span.zone,
                span.last,
            )
            warnings = {
                w.user_id: w
                for w in churn_warnings(active_days_by_member(history, span.zone), span.last)
            }
            names = await uow.rollups.names([score.user_id for score in scores])
        return [
            MemberRow(score, names.get(score.user_id, ""), warnings.get(score.user_id))
            for score in scores
        ]

    async def week(self, chat_id: int, monday: date) -> WeekReport:
        """The local week starting `monday` against the week before it, and the members at
        risk as of its last day (their rhythm read over the 180 days before)."""
        async with self._uow_factory() as uow:
            settings = await uow.groups.get(chat_id)
            zone = ZoneInfo((settings.timezone if settings else None) or self._default_timezone)
            sunday = monday + timedelta(days=6)
            since, until = utc_span(sunday - timedelta(days=HISTORY_DAYS - 1), sunday, zone)
            last_utc = (until - timedelta(microseconds=1)).date()
            history = await uow.rollups.member_days(chat_id, since.date(), last_utc)
            before_since, _ = utc_span(monday - timedelta(days=7), monday, zone)
            hours = await uow.rollups.hour_totals(chat_id, before_since, until)
            memberships = await uow.rollups.memberships(chat_id)
            measured: list[tuple[Activity, float]] = []
            for first in (monday, monday - timedelta(days=7)):
                last = first + timedelta(days=6)
                start, end = utc_span(first, last, zone)
                responses = await uow.rollups.response_totals(chat_id, start, end)
                measured.append(
                    (
                        activity(history, hours, memberships, zone, first, last),
                        interaction(hours, responses, start, end).responded_share,
                    )
                )
            warnings = churn_warnings(active_days_by_member(history, zone), sunday)
            names = await uow.rollups.names([w.user_id for w in warnings[:LISTED_IN_DIGEST]])
        (this, answered), (before, answered_before) = measured
        return WeekReport(monday, this, before, answered, answered_before, warnings, names)
