"""/stats [7d|30d|90d]: activity for today, 7 and 30 days, then the period's analytics (growth,
stickiness, interaction; 7 days unless chosen), for the group's admins."""

from __future__ import annotations

from functools import partial

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.ports import ChatGateway
from bot.services.admins import AdminDirectory
from bot.services.analytics import AnalyticsService, Trend
from bot.services.engagement import EngagementRecorder
from bot.services.readiness import ReadinessService
from handlers import render
from handlers.analytics import overview_text, period_or_usage, reply_with_chart
from handlers.charts import trend_chart
from handlers.filters import in_group
from handlers.i18n import gettext as _
from handlers.replies import locale_of, reply, sent_by_admin


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    stats = Router(name="stats")
    stats.message.register(stats_command, Command("stats"), in_group)
    stats.message.register(stats_outside_group, Command("stats"))
    return stats


async def stats_command(
    message: Message,
    command: CommandObject,
    analytics: AnalyticsService,
    admins: AdminDirectory,
    gateway: ChatGateway,
    recorder: EngagementRecorder,
    readiness: ReadinessService,
) -> None:
    locale = locale_of(message)
    text, trend = await _answer(message, command, analytics, admins, recorder, readiness, locale)
    await reply(message, gateway, text)
    if trend is not None:  # the report was given (not a refusal): its trend as a chart
        days = len(trend.days)
        caption = _(locale, "📈 Messages and active members a day, last {days} days", days=days)
        chart = partial(trend_chart, trend.days, trend.messages, trend.active, locale)
        await reply_with_chart(message, gateway, caption, chart)


async def _answer(
    message: Message,
    command: CommandObject,
    analytics: AnalyticsService,
    admins: AdminDirectory,
    recorder: EngagementRecorder,
    readiness: ReadinessService,
    locale: str,
) -> tuple[str, Trend | None]:
    """The reply, and the period's trend when it is the report (None: a refusal)."""
    if not await sent_by_admin(message, admins):
        return render.admins_only(locale, "stats"), None
    days = period_or_usage("stats", command.args, 7, locale)
    if isinstance(days, str):
        return days, None
    # Count everything received so far, this command included: read our own writes.
    await recorder.durable()
    report, overview, trend = await analytics.stats(message.chat.id, days)
    text = f"{render.stats_report(report, locale)}\n{overview_text(overview, locale)}"
    if not await readiness.sees_all_messages(message.chat.id):
        # Privacy mode on and no admin here: Telegram sends the bot commands only.
        text = f"{text}\n{render.counts_only_what_it_sees(locale)}"
    return text, trend


async def stats_outside_group(message: Message, gateway: ChatGateway) -> None:
    await gateway.send_message(message.chat.id, render.group_only(locale_of(message), "stats"))
