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


MAX_TEXT = 4096  # Telegram's limit on one message's text


async def reply(message: Message, gateway: ChatGateway, text: str) -> None:
    """Answer a command as a reply to it, in its forum topic, at reply priority.

    A text over Telegram's limit goes as several messages, split between lines.
    """
    for part in split_text(text):
        await gateway.send_message(
            message.chat.id,
            part,
            priority=Priority.REPLY,
            reply_to_message_id=message.message_id,
            thread_id=message.message_thread_id if message.is_topic_message else None,
        )


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at line ends where there are any."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single line longer than a message
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current or not parts:
        parts.append(current)
    return parts
