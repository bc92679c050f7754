"""/settings: a group's time zone and whether message text is stored, for its admins."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain.group_settings import USAGE, SettingsInputError, parse_settings
from bot.ports import ChatGateway
from bot.services.admins import AdminDirectory
from bot.services.group_settings import GroupSettingsService
from handlers import render
from handlers.filters import in_group
from handlers.replies import locale_of, reply, sent_by_admin

# The form that fits the setting an admin tried (a wrong zone needs the time zone form, not all
# five); an unknown setting gets them all.
_FORMS = {
    "timezone": "/settings timezone Europe/Berlin",
    "tz": "/settings timezone Europe/Berlin",
    "language": "/settings language zh",
    "lang": "/settings language zh",
    "text": "/settings text on 30 · /settings text off",
}


def _form_for(args: str | None) -> str:
    words = (args or "").split()
    return _FORMS.get(words[0].lower(), USAGE) if words else USAGE


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    settings = Router(name="settings")
    settings.message.register(settings_command, Command("settings"), in_group)
    settings.message.register(settings_outside_group, Command("settings"))
    return settings


async def settings_command(
    message: Message,
    command: CommandObject,
    group_settings: GroupSettingsService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    if not await sent_by_admin(message, admins):
        text = render.admins_only(locale, "settings")
    else:
        try:
            change = parse_settings(command.args)
        except SettingsInputError as error:
            form = _form_for(command.args)
            text = render.usage(locale, "settings", form, error.problem, **error.values)
        else:
            result = await group_settings.apply(message.chat.id, message.chat.title or "", change)
            text = render.group_settings(result, locale)
    await reply(message, gateway, text)


async def settings_outside_group(message: Message, gateway: ChatGateway) -> None:
    await gateway.send_message(message.chat.id, render.group_only(locale_of(message), "settings"))
