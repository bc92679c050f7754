"""What every command handler does around its own work: the caller's language, their admin
status, and a reply in the same topic."""

from __future__ import annotations

from aiogram.types import Message

from bot.ports import ChatGateway, Priority
from bot.services.admins import AdminDirectory
from handlers.i18n import pick_locale


def locale_of(message: Message) -> str:
    """The catalogue for the sender's Telegram language."""
    return pick_locale(message.from_user.language_code if message.from_user else None)


async def sent_by_admin(message: Message, admins: AdminDirectory) -> bool:
    """The sender is an admin of the chat (an anonymous admin posts as the chat itself)."""
    user_id = message.from_user.id if message.from_user else None
    sender_chat_id = message.sender_chat.id if message.sender_chat else None
    return await admins.is_admin(message.chat.id, user_id, sender_chat_id)


async def reply(message: Message, gateway: ChatGateway, text: str) -> None:
    """Answer a command as a reply to it, in its forum topic, at reply priority."""
    await gateway.send_message(
        message.chat.id,
        text,
        priority=Priority.REPLY,
        reply_to_message_id=message.message_id,
        thread_id=message.message_thread_id if message.is_topic_message else None,
    )
