"""/health: in a group, how groupops is doing in that group, for its admins; in the ops chat,
the whole bot's counters.

A group's moderators read that group's own figures in plain words (messages recorded, replies
waiting, messages waiting for their checks, the rights it lacks there, and each feature's line);
the counters of the whole bot (every group's updates, delivery, watchers) are the operators'
business and go only to the ops chat — a group, or the private chat of the operator whose user id
`OPS_CHAT_ID` is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.ports import ChatGateway
from bot.services.admins import AdminDirectory
from bot.services.health import GroupHealthReport, HealthReport
from handlers import render
from handlers.filters import in_group, in_private
from handlers.replies import locale_of, reply, sent_by_admin

GroupHealth = Callable[[int, str], Awaitable[GroupHealthReport]]


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    health = Router(name="health")
    health.message.register(health_command, Command("health"), in_group)
    # An ops chat that is an operator's private chat gets the whole bot's counters there;
    # any other private chat falls through to what the bot does in private.
    health.message.register(ops_health, Command("health"), in_private, in_ops_chat)
    return health


async def in_ops_chat(message: Message, ops_chat_id: int | None = None) -> bool:
    return ops_chat_id is not None and message.chat.id == ops_chat_id


async def health_command(
    message: Message,
    admins: AdminDirectory,
    gateway: ChatGateway,
    health: Callable[[], HealthReport],
    group_health: GroupHealth,
    ops_chat_id: int | None = None,
) -> None:
    locale = locale_of(message)
    if ops_chat_id is not None and message.chat.id == ops_chat_id:
        # The ops chat is the operators' room, not a community: its members read the whole bot.
        text = render.health(health(), locale)
    elif await sent_by_admin(message, admins):
        text = render.group_health(await group_health(message.chat.id, locale), locale)
    else:
        text = render.admins_only(locale, "health")
    await reply(message, gateway, text)


async def ops_health(
    message: Message, gateway: ChatGateway, health: Callable[[], HealthReport]
) -> None:
    await reply(message, gateway, render.health(health(), locale_of(message)))
