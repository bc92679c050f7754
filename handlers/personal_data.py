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
from handlers.adcap import removed_promos_text
from handlers.filters import in_group, in_private
from handlers.handoff import questions_text
from handlers.i18n import pick_locale
from handlers.moderation import warnings_text
from handlers.recognition import footprint_text
from handlers.replies import locale_of, point_to_private_chat, reply

ERASE = "forgetme:erase"
KEEP = "forgetme:keep"
# The group's pointer opens the private chat with `t.me/<bot>?start=<command>`; Telegram then
# sends "/start <command>" there, which runs the command itself.
DEEP_LINKED = ("mydata", "forgetme")


async def _is_erase_answer(query: CallbackQuery) -> bool:
    return query.data in (ERASE, KEEP)


async def _opened_for(message: Message) -> dict[str, str] | bool:
    """A private chat opened from a group's pointer ("/start mydata"): which command."""
    words = (message.text or "").split()
    if len(words) == 2 and words[0] == "/start" and words[1] in DEEP_LINKED:
        return {"deep_link": words[1]}
    return False


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    personal = Router(name="personal_data")
    personal.message.register(my_data, Command("mydata"), in_private)
    personal.message.register(forget_me, Command("forgetme"), in_private)
    personal.message.register(only_in_private, Command("mydata", "forgetme"), in_group)
    personal.message.register(deep_linked, in_private, _opened_for)
    personal.callback_query.register(erase_answer, _is_erase_answer)
    return personal


async def only_in_private(
    message: Message, command: CommandObject, gateway: ChatGateway, bot_username: str = ""
) -> None:
    """Point to the private chat, with a button that opens it on this very command."""
    locale = locale_of(message)
    text = render.private_only(locale, command.command)
    if not bot_username:
        await reply(message, gateway, text)
        return
    url = f"https://t.me/{bot_username}?start={command.command}"
    await point_to_private_chat(message, gateway, text, render.open_private_chat(locale), url)


async def deep_linked(
    message: Message, deep_link: str, gateway: ChatGateway, personal_data: PersonalDataService
) -> None:
    if deep_link == "mydata":
        await my_data(message, gateway, personal_data)
    else:
        await forget_me(message, gateway, personal_data)


async def my_data(
    message: Message, gateway: ChatGateway, personal_data: PersonalDataService
) -> None:
    if message.from_user is None:
        return
    groups = await personal_data.footprint(message.from_user.id)
    await reply(message, gateway, render.footprint(groups, locale_of(message)))
    removed = await personal_data.removed_promos(message.from_user.id)
    if removed:
        await reply(message, gateway, removed_promos_text(removed, locale_of(message)))
    questions = await personal_data.questions(message.from_user.id)
    if questions:
        await reply(message, gateway, questions_text(questions, locale_of(message)))
    recognition = await personal_data.recognition(message.from_user.id)
    if recognition:
        await reply(message, gateway, footprint_text(recognition, locale_of(message)))
    warnings = await personal_data.warnings(message.from_user.id)
    if warnings:
        await reply(message, gateway, warnings_text(warnings, locale_of(message)))


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
