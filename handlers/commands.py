"""The slash-command routers, under one parent that turns ordinary chat away once.

aiogram enters every router in turn until one handles the update, and entering one costs its
middleware chain even when nothing matches. Most group traffic is not a command, so the
feature routers sit under this parent: a message that does not start with "/" skips them all
after one check (callback queries still reach them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.ports import ChatGateway
from bot.services.admins import AdminsUnknown
from handlers.filters import first_delivery, first_press, looks_like_command, within_command_rate
from handlers.i18n import gettext
from handlers.replies import locale_of, reply


def router(features: Sequence[Callable[[], Router]]) -> Router:
    """A fresh parent router over fresh feature routers (a router joins one dispatcher only)."""
    commands = Router(name="commands")
    # A command Telegram redelivers after a crash is answered once (its event is a duplicate).
    commands.message.filter(looks_like_command, first_delivery, within_command_rate)
    commands.callback_query.filter(first_press)
    commands.include_routers(*(make() for make in features))
    commands.errors.register(admins_unknown, ExceptionTypeFilter(AdminsUnknown))
    return commands


async def admins_unknown(event: ErrorEvent, gateway: ChatGateway) -> None:
    """A moderator command whose caller could not be checked: say so, not "admins only"."""
    message = event.update.message
    if message is not None:
        text = gettext(
            locale_of(message),
            "I can't check who the group's admins are right now. Please try again in a minute.",
        )
        await reply(message, gateway, text)
