"""/mydata and /forgetme: a member sees and erases what is stored about them, in private.

In a group these commands only point to the private chat: a member's records are theirs, not
the group's to read.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.ports import ChatGateway, Priority
from bot.services.personal_data import PersonalDataService
from handlers import render
from handlers.filters import in_group, in_private
from handlers.i18n import pick_locale
from handlers.replies import locale_of, reply

ERASE = "forgetme:erase"
KEEP = "forgetme:keep"


async def _is_erase_answer(query: CallbackQuery) -> bool:
    return query.data in (ERASE, KEEP)


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    personal = Router(name="personal_data")
    personal.message.register(my_data, Command("mydata"), in_private)
    personal.message.register(forget_me, Command("forgetme"), in_private)
    personal.message.register(only_in_private, Command("mydata", "forgetme"), in_group)
    personal.callback_query.register(erase_answer, _is_erase_answer)
    return personal


async def only_in_private(message: Message, command: CommandObject, gateway: ChatGateway) -> None:
    await reply(message, gateway, render.private_only(locale_of(message), command.command))


async def my_data(
    message: Message, gateway: ChatGateway, personal_data: PersonalDataService
) -> None:
    if message.from_user is None:
        return
    groups = await personal_data.footprint(message.from_user.id)
    await reply(message, gateway, render.footprint(groups, locale_of(message)))


async def forget_me(
    message: Message, gateway: ChatGateway, personal_data: PersonalDataService
) -> None:
    if message.from_user is None:
        return
    locale = locale_of(message)
    groups = await personal_data.footprint(message.from_user.id)
    if not groups:
        await reply(message, gateway, render.nothing_stored(locale))
        return
    erase, keep = render.erase_buttons(locale)
    keyboard = [[{"text": erase, "callback_data": ERASE}, {"text": keep, "callback_data": KEEP}]]
    await gateway.call(
        "sendMessage",
        {
            "chat_id": message.chat.id,
            "text": render.erase_question(groups, locale),
            "reply_markup": {"inline_keyboard": keyboard},
        },
        priority=Priority.REPLY,
    )


async def erase_answer(
    query: CallbackQuery, gateway: ChatGateway, personal_data: PersonalDataService
) -> None:
    locale = pick_locale(query.from_user.language_code)
    message = query.message
    # Only the person the question was put to, in their own private chat, can answer it.
    if message is None or message.chat.id != query.from_user.id:
        await gateway.call("answerCallbackQuery", {"callback_query_id": query.id})
        return
    if query.data == ERASE:
        text = render.erased(await personal_data.erase(query.from_user.id), locale)
    else:
        text = render.erase_cancelled(locale)
    await gateway.call("answerCallbackQuery", {"callback_query_id": query.id})
    # The new text replaces the question and its buttons, so it cannot be answered twice.
    await gateway.call(
        "editMessageText",
        {"chat_id": message.chat.id, "message_id": message.message_id, "text": text},
        priority=Priority.REPLY,
    )
