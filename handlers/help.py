"""/start and /help: what the bot does and which commands there are, where they are asked."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.ports import ChatGateway
from handlers import render
from handlers.filters import in_group, in_private
from handlers.replies import locale_of, reply


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    help_ = Router(name="help")
    help_.message.register(private_help, Command("start", "help"), in_private)
    help_.message.register(group_help, Command("help"), in_group)
    return help_


async def private_help(message: Message, gateway: ChatGateway) -> None:
    await reply(message, gateway, render.private_intro(locale_of(message)))


async def group_help(message: Message, gateway: ChatGateway) -> None:
    await reply(message, gateway, render.group_help(locale_of(message)))
