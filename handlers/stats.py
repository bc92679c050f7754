"""/stats: activity for today, 7 and 30 days, for the group's admins."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.ports import ChatGateway, Priority
from bot.services.admins import AdminDirectory
from bot.services.engagement import EngagementRecorder
from bot.services.stats import StatsService
from handlers import render
from handlers.filters import in_group, looks_like_command
from handlers.i18n import pick_locale


def router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    stats = Router(name="stats")
    stats.message.filter(looks_like_command)
    stats.message.register(stats_command, Command("stats"), in_group)
    stats.message.register(stats_outside_group, Command("stats"))
    return stats


async def stats_command(
    message: Message,
    command: CommandObject,
    stats: StatsService,
    admins: AdminDirectory,
    gateway: ChatGateway,
    recorder: EngagementRecorder,
) -> None:
    locale = pick_locale(message.from_user.language_code if message.from_user else None)
    reply = await _answer(message, command, stats, admins, recorder, locale)
    await gateway.send_message(
        message.chat.id,
        reply,
        priority=Priority.REPLY,
        reply_to_message_id=message.message_id,
        thread_id=message.message_thread_id if message.is_topic_message else None,
    )


async def _answer(
    message: Message,
    command: CommandObject,
    stats: StatsService,
    admins: AdminDirectory,
    recorder: EngagementRecorder,
    locale: str,
) -> str:
    user_id = message.from_user.id if message.from_user else None
    sender_chat_id = message.sender_chat.id if message.sender_chat else None
    if not await admins.is_admin(message.chat.id, user_id, sender_chat_id):
        return render.admins_only(locale, "stats")
    if command.args:
        return render.usage(locale, "stats", "/stats", "/{command} takes no arguments.")
    # Count everything received so far, this command included: read our own writes.
    await recorder.durable()
    return render.stats_report(await stats.group_report(message.chat.id), locale)


async def stats_outside_group(message: Message, gateway: ChatGateway) -> None:
    locale = pick_locale(message.from_user.language_code if message.from_user else None)
    await gateway.send_message(message.chat.id, render.group_only(locale, "stats"))
