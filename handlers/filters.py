"""Cheap router filters, written as coroutines.

aiogram runs a synchronous filter (a lambda or a magic `F` filter) in a worker thread through
`asyncio.to_thread`, which costs about 100 µs per check on every update; a coroutine runs inline.
"""

from __future__ import annotations

from typing import Protocol

from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.domain.events import EngagementEvent
from bot.domain.rate import CommandRate, RateVerdict
from bot.ports import ChatGateway, Clock
from bot.services.admins import AdminDirectory, AdminsUnknown
from handlers.i18n import gettext
from handlers.mapping import GROUP_TYPES
from handlers.replies import locale_of, reply


async def in_group(event: Message | ChatMemberUpdated) -> bool:
    """The update comes from a group or supergroup."""
    return event.chat.type in GROUP_TYPES


async def in_private(event: Message) -> bool:
    """The update comes from a private chat with the bot."""
    return event.chat.type == "private"


async def looks_like_command(message: Message) -> bool:
    """Text starting with "/": lets a command router skip ordinary chat at once."""
    return message.text is not None and message.text.startswith("/")


class Deliveries(Protocol):
    async def first_delivery(self, dedup_key: str) -> bool: ...

    async def first_handling(self, update_id: int) -> bool: ...


async def first_delivery(message: Message, intake: Deliveries, event_update: Update) -> bool:
    """The message is not a redelivery of one already handled (a crash between our commit and
    Telegram's confirmation makes Telegram send it again). A group message is known by its
    recorded event; a private one by a note written before its handler runs."""
    if message.chat.type not in GROUP_TYPES:
        return await intake.first_handling(event_update.update_id)
    return await intake.first_delivery(
        EngagementEvent.message_key(message.chat.id, message.message_id)
    )


async def first_press(query: CallbackQuery, intake: Deliveries, event_update: Update) -> bool:
    """A button press is answered once, even when Telegram sends it again after a crash."""
    return await intake.first_handling(event_update.update_id)


async def within_command_rate(
    message: Message,
    command_rate: CommandRate,
    clock: Clock,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> bool:
    """A member's commands past their rate are not run: the first gets one notice, the rest
    silence (a flood of commands cannot fill the group's outbound limit). Admins are exempt;
    they are looked up only once a member is past the limit."""
    user = message.from_user
    if user is None or message.sender_chat is not None:
        return True  # an anonymous admin or a channel: not a member's flood
    verdict = command_rate.check(message.chat.id, user.id, clock.now().timestamp())
    if verdict is RateVerdict.RUN:
        return True
    if message.chat.type in GROUP_TYPES:
        try:
            if await admins.is_admin(message.chat.id, user.id, None):
                return True
        except AdminsUnknown:
            pass
    if verdict is RateVerdict.NOTICE:
        text = gettext(
            locale_of(message),
            "You are sending commands too fast; I will answer again in a minute.",
        )
        await reply(message, gateway, text)
    return False
