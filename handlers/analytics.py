"""/top, /segments, /atrisk, /retention and /heatmap: the analytics reports, for a group's admins.

Each command is the same few steps (in a group, from an admin, a well-formed argument, then
read our own writes, call the service, render), so one handler serves them all, told apart by
the `Report` it is registered with.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.delivery import Delivery
from bot.delivery.uploads import CAPTION_LIMIT, media_params
from bot.domain.analytics import PERIOD_FORMS, Cohort, Segment, Tag, parse_period
from bot.features import Feature, MenuEntry, Runtime, Tick
from bot.ports import ChatGateway, DurableSender, Outcome, Priority, Upload
from bot.services.admins import AdminDirectory
from bot.services.analytics import (
    HEATMAP_DAYS,
    LISTED_AT_RISK,
    LISTED_IN_DIGEST,
    NAMED_PER_SEGMENT,
    AnalyticsService,
    AtRiskReport,
    Overview,
    SegmentReport,
    TopReport,
    WeekReport,
)
from bot.services.digest import DigestService
from bot.services.engagement import EngagementRecorder
from bot.services.reports import CSV_TYPE, ReportService
from handlers import render
from handlers.charts import cohort_chart, heatmap_chart, render_off_loop
from handlers.filters import in_group
from handlers.i18n import gettext as _
from handlers.i18n import number, pick_locale
from handlers.replies import locale_of, reply, sent_by_admin

log = logging.getLogger(__name__)

DIGEST_TICK = timedelta(minutes=5)  # how often the weekly digest looks for groups due
DAY_TICK = timedelta(minutes=10)  # how often a new local day's /atrisk and /segments are read

SEGMENT_NAMES = {
    Segment.CHAMPION: "Champions",
    Segment.LOYAL: "Loyal",
    Segment.PROMISING: "Promising",
    Segment.NEW: "New",
    Segment.NEEDS_ATTENTION: "Needs attention",
    Segment.AT_RISK: "At risk",
    Segment.HIBERNATING: "Hibernating",
    Segment.LOST: "Lost",
}
TAG_NAMES = {
    Tag.ASKER: "askers",
    Tag.ANSWERER: "answerers",
    Tag.LURKER_TURNED_POSTER: "lurkers turned posters",
    Tag.PROMOTER: "promoters",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHADES = "·░▒▓█"


@dataclass(frozen=True, slots=True)
class Answer:
    """A report's reply: its text, and a chart drawn off the event loop when there is one."""

    text: str
    chart: Callable[[], Upload] | None = None


Render = Callable[[AnalyticsService, int, int, str], Awaitable[str | Answer]]


@dataclass(frozen=True, slots=True)
class Report:
    """One analytics command: its name, whether it takes a period, and how it answers."""

    command: str
    render: Render
    default_days: int | None = None  # None: the command takes no argument


async def _top(service: AnalyticsService, chat_id: int, days: int, locale: str) -> str:
    return top_text(await service.top(chat_id, days), locale)


async def _segments(service: AnalyticsService, chat_id: int, days: int, locale: str) -> str:
    return segments_text(await service.segments(chat_id), locale)


async def _at_risk(service: AnalyticsService, chat_id: int, days: int, locale: str) -> str:
    return at_risk_text(await service.at_risk(chat_id), locale)


async def _retention(service: AnalyticsService, chat_id: int, days: int, locale: str) -> Answer:
    cohorts = await service.retention(chat_id)
    return Answer(retention_text(cohorts, locale), partial(cohort_chart, cohorts, locale))


async def _heatmap(service: AnalyticsService, chat_id: int, days: int, locale: str) -> Answer:
    grid = await service.heatmap(chat_id)
    chart = partial(heatmap_chart, grid, HEATMAP_DAYS, locale) if any(map(any, grid)) else None
    return Answer(heatmap_text(grid, locale), chart)


REPORTS = (
    Report("top", _top, default_days=30),
    Report("segments", _segments),
    Report("atrisk", _at_risk),
    Report("retention", _retention),
    Report("heatmap", _heatmap),
)


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    analytics = Router(name="analytics")
    for report in REPORTS:
        analytics.message.register(
            partial(report_command, report), Command(report.command), in_group
        )
        analytics.message.register(partial(outside_group, report.command), Command(report.command))
    analytics.message.register(export_command, Command("export"), in_group)
    analytics.message.register(partial(outside_group, "export"), Command("export"))
    return analytics


def feature(runtime: Runtime) -> Feature:
    """The analytics commands and their services."""
    analytics = AnalyticsService(
        runtime.uow_factory, runtime.clock, runtime.settings.default_timezone
    )
    digest = DigestService(
        runtime.uow_factory,
        runtime.clock,
        analytics,
        _durable(runtime.gateway),
        digest_text,
        runtime.digest_sections,
        runtime.settings.default_timezone,
        runtime.settings.ops_chat_id,
    )
    return Feature(
        name="analytics",
        routers=[router],
        services={"analytics": analytics, "reports": ReportService(analytics), "digest": digest},
        ticks=[
            Tick("weekly-digest", DIGEST_TICK, digest.run_due),
            Tick("analytics-day", DAY_TICK, analytics.refresh_kept_days),
        ],
        menu=[
            MenuEntry("all_group_chats", "top", "Who posted most, 7, 30 or 90 days (admins)"),
            MenuEntry(
                "all_group_chats", "segments", "Members by recency, frequency, replies (admins)"
            ),
            MenuEntry("all_group_chats", "atrisk", "Members drifting away, and why (admins)"),
            MenuEntry("all_group_chats", "retention", "Weekly join cohorts still active (admins)"),
            MenuEntry("all_group_chats", "heatmap", "Messages by weekday and hour (admins)"),
            MenuEntry("all_group_chats", "export", "CSV files sent to you in private (admins)"),
        ],
    )


async def report_command(
    report: Report,
    message: Message,
    command: CommandObject,
    analytics: AnalyticsService,
    admins: AdminDirectory,
    gateway: ChatGateway,
    recorder: EngagementRecorder,
) -> None:
    locale = locale_of(message)
    answer = await _answer(report, message, command, analytics, admins, recorder, locale)
    if isinstance(answer, Answer):
        await reply_with_chart(message, gateway, answer.text, answer.chart)
    else:
        await reply(message, gateway, answer)


async def _answer(
    report: Report,
    message: Message,
    command: CommandObject,
    analytics: AnalyticsService,
    admins: AdminDirectory,
    recorder: EngagementRecorder,
    locale: str,
) -> str | Answer:
    if not await sent_by_admin(message, admins):
        return render.admins_only(locale, report.command)
    if report.default_days is None:
        if command.args:
            return render.usage(
                locale, report.command, f"/{report.command}", "/{command} takes no arguments."
            )
        days = 0
    else:
        days_or_usage = period_or_usage(report.command, command.args, report.default_days, locale)
        if isinstance(days_or_usage, str):
            return days_or_usage
        days = days_or_usage
    # Count everything received so far: read our own writes.
    await recorder.durable()
    return await report.render(analytics, message.chat.id, days, locale)


def period_or_usage(command: str, args: str | None, default: int, locale: str) -> int | str:
    """The period a command was given, in days, or the answer naming the accepted forms."""
    days = parse_period(args, default)
    if days is None:
        return render.usage(
            locale,
            command,
            f"/{command} [{'|'.join(PERIOD_FORMS)}]",
            "“{given}” is not a period.",
            given=args,
        )
    return days


async def reply_with_chart(
    message: Message, gateway: ChatGateway, text: str, chart: Callable[[], Upload] | None
) -> None:
    """Answer with a chart as a photo, the text as its caption (or after it, when too long for
    one); with the text alone when there is no chart or drawing it failed."""
    upload = None
    if chart is not None:
        try:
            upload = await render_off_loop(chart)
        except Exception:
            log.exception("a chart could not be drawn; answering with the text only")
    if upload is None:
        await reply(message, gateway, text)
        return
    fits = len(text) <= CAPTION_LIMIT
    thread_id = message.message_thread_id if message.is_topic_message else None
    await gateway.call(
        "sendPhoto",
        media_params(
            message.chat.id,
            "photo",
            upload,
            caption=text if fits else None,
            reply_to_message_id=message.message_id,
            thread_id=thread_id,
        ),
        priority=Priority.REPLY,
        chat_id=message.chat.id,
    )
    if not fits:
        await reply(message, gateway, text)


async def export_command(
    message: Message,
    command: CommandObject,
    reports: ReportService,
    admins: AdminDirectory,
    gateway: ChatGateway,
    recorder: EngagementRecorder,
) -> None:
    """/export [7d|30d|90d]: the daily summary and the members with segments, as CSV files sent
    to the admin who asked, in private. The group sees no data: at most a refusal, or a note
    that the bot cannot write to them until they open a chat with it."""
    locale = locale_of(message)
    if not await sent_by_admin(message, admins):
        await reply(message, gateway, render.admins_only(locale, "export"))
        return
    days = period_or_usage("export", command.args, 90, locale)
    if isinstance(days, str):
        await reply(message, gateway, days)
        return
    if message.sender_chat is not None or message.from_user is None:
        text = _(
            locale,
            "/export sends the files to you in private: send it from your own account, "
            "not anonymously.",
        )
        await reply(message, gateway, text)
        return
    await recorder.durable()
    files = await reports.export(message.chat.id, days)
    admin = message.from_user.id
    intro = await gateway.send_message(
        admin,
        _(
            locale,
            "📎 {title}: the daily summary of the last {days} days, and the members active in "
            "the last 90 days with their segments, scores and churn warnings.",
            title=message.chat.title or message.chat.id,
            days=days,
        ),
    )
    if not intro.ok:
        text = _(
            locale,
            "I cannot write to you in private yet: open a chat with me, press Start, then send "
            "/export here again.",
        )
        await reply(message, gateway, text)
        return
    for file in files:
        await gateway.call(
            "sendDocument",
            media_params(admin, "document", Upload(file.filename, file.data, CSV_TYPE)),
            priority=Priority.REPLY,
            chat_id=admin,
        )


async def outside_group(command: str, message: Message, gateway: ChatGateway) -> None:
    await gateway.send_message(message.chat.id, render.group_only(locale_of(message), command))


class _BestEffort:
    """A gateway without an outbox (a test's fake) sends the digest once, undurably."""

    def __init__(self, gateway: ChatGateway) -> None:
        self._gateway = gateway

    async def send_durable(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: Priority = Priority.CONTENT,
    ) -> Outcome:
        return await self._gateway.call(method, params, priority=priority, chat_id=chat_id)


def _durable(gateway: ChatGateway) -> DurableSender:
    return gateway if isinstance(gateway, Delivery) else _BestEffort(gateway)


# --- rendering --------------------------------------------------------------------------------


def _delta(locale: str, now: float, before: float, percent: bool = False) -> str:
    """A change as "+3", "−2" or "±0" (percentage points when `percent`)."""
    change = round(100 * (now - before)) if percent else round(now - before)
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return sign + number(locale, abs(change))


def digest_text(report: WeekReport, title: str, language: str) -> str:
    """The weekly digest's own part, in the group's language, for the ops chat."""
    locale = pick_locale(language)
    a, b = report.this, report.before
    lines = [
        _(
            locale,
            "📬 Weekly digest of “{title}”, week of {week} (change from the week before)",
            title=title,
            week=_day(report.week, locale),
        ),
        _(
            locale,
            "Messages: {messages} ({messages_change}) · active members: {active} "
            "({active_change}) · new members: {new} ({new_change})",
            messages=number(locale, a.messages),
            messages_change=_delta(locale, a.messages, b.messages),
            active=number(locale, a.active_members),
            active_change=_delta(locale, a.active_members, b.active_members),
            new=number(locale, a.new_members),
            new_change=_delta(locale, a.new_members, b.new_members),
        ),
        _(
            locale,
            "Joins: {joins} · leaves: {leaves} · answered: {answered} ({answered_change} pts)",
            joins=number(locale, a.joins),
            leaves=number(locale, a.leaves),
            answered=_percent(locale, report.answered),
            answered_change=_delta(locale, report.answered, report.answered_before, True),
        ),
    ]
    if not report.warnings:
        lines.append(_(locale, "No one is drifting away right now."))
    else:
        lines.append(
            _(
                locale,
                "⚠️ Members at risk: {count}",
                count=number(locale, len(report.warnings)),
            )
        )
        for warning in report.warnings[:LISTED_IN_DIGEST]:
            lines.append(
                "• "
                + _(
                    locale,
                    "{name} — days silent: {silent} · usual days between visits: {usual}",
                    name=_name(report.names, warning.user_id, locale),
                    silent=number(locale, warning.days_silent),
                    usual=number(locale, round(warning.usual_gap_days, 1)),
                )
            )
        if len(report.warnings) > LISTED_IN_DIGEST:
            more = len(report.warnings) - LISTED_IN_DIGEST
            lines.append(_(locale, "…and {more} more", more=number(locale, more)))
    return "\n".join(lines)


def _name(names: dict[int, str], user_id: int, locale: str) -> str:
    return names.get(user_id) or _(locale, "member {id}", id=user_id)


def _percent(locale: str, share: float) -> str:
    return f"{number(locale, round(100 * share))}%"


def top_text(report: TopReport, locale: str) -> str:
    lines = [_(locale, "🏆 Most active members, last {days} days", days=report.days)]
    if not report.members:
        lines.append(_(locale, "No messages recorded in this period."))
    for rank, member in enumerate(report.members, start=1):
        lines.append(
            _(
                locale,
                "{rank}. {name} — messages: {messages} · replies received: {replies} · "
                "reactions received: {reactions}",
                rank=rank,
                name=_name(report.names, member.user_id, locale),
                messages=number(locale, member.messages),
                replies=number(locale, member.replies_received),
                reactions=number(locale, member.reactions_received),
            )
        )
    return "\n".join(lines)


def segments_text(report: SegmentReport, locale: str) -> str:
    lines = [
        _(
            locale,
            "👥 Segments of the {count} members who posted or reacted in the last 90 days",
            count=number(locale, len(report.scores)),
        )
    ]
    for segment, label in SEGMENT_NAMES.items():
        members = [s.user_id for s in report.scores if s.segment is segment]
        if not members:
            continue
        shown = ", ".join(_name(report.names, user, locale) for user in members[:NAMED_PER_SEGMENT])
        more = len(members) - NAMED_PER_SEGMENT
        lines.append(
            _(
                locale,
                "{segment}: {count}",
                segment=_(locale, label),
                count=number(locale, len(members)),
            )
            + f" — {shown}"
            + (_(locale, " and {more} more", more=number(locale, more)) if more > 0 else "")
        )
    tags = [
        _(locale, "{count} {tag}", count=number(locale, n), tag=_(locale, label))
        for tag, label in TAG_NAMES.items()
        if (n := sum(1 for s in report.scores if tag in s.tags))
    ]
    if tags:
        lines.append(_(locale, "Tags: {tags}", tags=" · ".join(tags)))
    return "\n".join(lines)


def at_risk_text(report: AtRiskReport, locale: str) -> str:
    lines = [_(locale, "⚠️ Members silent for longer than their own rhythm")]
    if not report.warnings:
        lines.append(_(locale, "No one is drifting away right now."))
    for warning in report.warnings[:LISTED_AT_RISK]:
        lines.append(
            _(
                locale,
                "{name} — days silent: {silent} · usual days between visits: {usual}",
                name=_name(report.names, warning.user_id, locale),
                silent=number(locale, warning.days_silent),
                usual=number(locale, round(warning.usual_gap_days, 1)),
            )
        )
    if len(report.warnings) > LISTED_AT_RISK:
        lines.append(
            _(
                locale,
                "…and {more} more",
                more=number(locale, len(report.warnings) - LISTED_AT_RISK),
            )
        )
    test = report.back_test
    if test.precision is None:
        lines.append(_(locale, "Not enough history yet to check these warnings against the past."))
    else:
        lines.append(
            _(
                locale,
                "On this group's past: {right} of {flagged} members warned about went silent for "
                "30 days or more ({precision}), warned a median of {lead} days before.",
                right=number(locale, test.went_silent),
                flagged=number(locale, test.flagged),
                precision=_percent(locale, test.precision),
                lead=number(locale, test.median_lead_days or 0),
            )
        )
    return "\n".join(lines)


def retention_text(cohorts: list[Cohort], locale: str) -> str:
    lines = [
        _(locale, "📅 Weekly join cohorts: the share active in each week after joining"),
        _(locale, "week of · joined · weeks 1–8"),
    ]
    for cohort in cohorts:
        shares = " ".join(
            "–" if share is None else _percent(locale, share) for share in cohort.retained
        )
        lines.append(f"{_day(cohort.week, locale)} · {number(locale, cohort.size)} · {shares}")
    return "\n".join(lines)


def _day(day: date, locale: str) -> str:
    return _(locale, "{month}/{day}", month=day.month, day=day.day)


def heatmap_text(grid: list[list[int]], locale: str) -> str:
    peak = max(max(row) for row in grid)
    lines = [_(locale, "🗓 Messages by weekday and hour, last 90 days (darker: more)")]
    if not peak:
        lines.append(_(locale, "No messages recorded in this period."))
        return "\n".join(lines)
    lines.append("      0     6     12    18   ")
    for weekday, row in zip(WEEKDAYS, grid, strict=True):
        shades = "".join(SHADES[-(-count * (len(SHADES) - 1) // peak)] for count in row)
        lines.append(f"{_(locale, weekday):<4}  {shades}")
    busiest_day, busiest_hour = max(
        ((d, h) for d in range(7) for h in range(24)), key=lambda dh: grid[dh[0]][dh[1]]
    )
    lines.append(
        _(
            locale,
            "Busiest: {weekday} {hour}:00–{hour}:59 ({messages} messages)",
            weekday=_(locale, WEEKDAYS[busiest_day]),
            hour=busiest_hour,
            messages=number(locale, grid[busiest_day][busiest_hour]),
        )
    )
    return "\n".join(lines)


def overview_text(overview: Overview, locale: str) -> str:
    """The lines /stats adds: activity, growth and interaction over the chosen period."""
    a, i = overview.activity, overview.interaction
    wait = i.median_first_reply
    return "\n".join(
        [
            _(
                locale,
                "📈 Last {days} days: {per_day} messages a day · active members: {active} · "
                "daily {daily} · weekly {weekly} · monthly {monthly} · stickiness (daily ÷ "
                "monthly): {stickiness}",
                days=overview.days,
                per_day=number(locale, round(a.messages_per_day, 1)),
                active=number(locale, a.active_members),
                daily=number(locale, round(a.daily_active, 1)),
                weekly=number(locale, a.weekly_active),
                monthly=number(locale, a.monthly_active),
                stickiness=_percent(locale, a.stickiness),
            ),
            _(
                locale,
                "Members: new {new} · returning {returning} · joins {joins} · leaves {leaves} · "
                "net growth {net}",
                new=number(locale, a.new_members),
                returning=number(locale, a.returning_members),
                joins=number(locale, a.joins),
                leaves=number(locale, a.leaves),
                net=number(locale, a.net_growth),
            ),
            _(
                locale,
                "Per message: {replies} replies · {reactions} reactions · answered: {share} · "
                "median time to first reply: {wait}",
                replies=number(locale, round(i.replies_per_message, 2)),
                reactions=number(locale, round(i.reactions_per_message, 2)),
                share=_percent(locale, i.responded_share),
                wait=_(
                    locale,
                    "{minutes} min",
                    minutes=number(locale, round(wait.total_seconds() / 60)),
                )
                if wait is not None
                else "–",
            ),
            _(
                locale,
                "Active means posted or reacted: Telegram does not tell a bot who only reads.",
            ),
        ]
    )
