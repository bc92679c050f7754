"""/start and /help: what the bot does and which commands there are, where they are asked."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.ports import ChatGateway
from handlers import render
from handlers.filters import first_delivery, in_group, in_private
from handlers.replies import locale_of, reply


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    help_ = Router(name="help")
    help_.message.register(private_help, Command("start", "help"), in_private)
    help_.message.register(group_help, Command("help"), in_group)
    return help_


def private_chat_router() -> Router:
    """Plain text (or an unknown command) in a private chat: say what the bot does there."""
    chat = Router(name="private-chat")
    chat.message.register(private_help, in_private, first_delivery)
    return chat


async def private_help(message: Message, gateway: ChatGateway) -> None:
    await reply(message, gateway, render.private_intro(locale_of(message)))


async def group_help(message: Message, gateway: ChatGateway) -> None:
    await reply(message, gateway, render.group_help(locale_of(message)))
