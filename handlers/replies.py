"""What every command handler does around its own work: the caller's language, their admin
status, and a reply in the same topic."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, runtime_checkable

from aiogram.types import Message

from bot.ports import ChatGateway, Outcome, Priority
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

# A reply that Telegram's limits (20 messages a minute in a group) will hold longer than this is
# acknowledged at once with a reaction on the command, which costs no message.
ACKNOWLEDGE_AFTER = 2.0  # seconds
ACKNOWLEDGEMENT = "👀"


@runtime_checkable
class KnowsReplyWait(Protocol):
    """A gateway that can tell how long a reply sent to a chat now would wait (delivery can)."""

    def reply_wait(self, chat_id: int) -> float: ...


@runtime_checkable
class QueuesMessages(Protocol):
    """A gateway that queues a message without waiting for it to be sent (delivery does)."""

    def queue_message(
        self,
        chat_id: int,
        text: str,
        *,
        priority: Priority = Priority.REPLY,
        reply_to_message_id: int | None = None,
        thread_id: int | None = None,
    ) -> asyncio.Future[Outcome]: ...


async def reply(message: Message, gateway: ChatGateway, text: str) -> None:
    """Answer a command as a reply to it, in its forum topic, at reply priority.

    A text over Telegram's limit goes as several messages, split between lines. The reply is
    queued, not waited for: a chat's commands are handled in turn, and one reply held by
    Telegram's limits must not hold up the handling of the next command. When the reply will
    wait on those limits, the command gets a 👀 reaction first, so its sender knows it was heard.
    """
    await acknowledge_if_slow(message, gateway)
    thread_id = message.message_thread_id if message.is_topic_message else None
    for part in split_text(text):
        if isinstance(gateway, QueuesMessages):
            gateway.queue_message(
                message.chat.id,
                part,
                priority=Priority.REPLY,
                reply_to_message_id=message.message_id,
                thread_id=thread_id,
            )
        else:
            await gateway.send_message(
                message.chat.id,
                part,
                priority=Priority.REPLY,
                reply_to_message_id=message.message_id,
                thread_id=thread_id,
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


async def acknowledge_if_slow(message: Message, gateway: ChatGateway) -> bool:
    """React 👀 to `message` when a reply to its chat would wait past `ACKNOWLEDGE_AFTER`.

    A reaction is not a message: Telegram's message limits do not hold it, and it goes ahead of
    the queued replies (at moderation priority). Returns whether it was sent.
    """
    if not isinstance(gateway, KnowsReplyWait):
        return False
    if gateway.reply_wait(message.chat.id) <= ACKNOWLEDGE_AFTER:
        return False
    outcome = await gateway.call(
        "setMessageReaction",
        {
            "chat_id": message.chat.id,
            "message_id": message.message_id,
            "reaction": [{"type": "emoji", "emoji": ACKNOWLEDGEMENT}],
        },
        priority=Priority.MODERATION,
        chat_id=message.chat.id,
    )
    return outcome.ok


async def point_to_private_chat(
    message: Message, gateway: ChatGateway, text: str, label: str, url: str
) -> None:
    """Reply with `text` and a button (`label`) that opens the private chat at `url`."""
    params: dict[str, Any] = {
        "chat_id": message.chat.id,
        "text": text,
        "reply_parameters": {"message_id": message.message_id, "allow_sending_without_reply": True},
        "reply_markup": {"inline_keyboard": [[{"text": label, "url": url}]]},
    }
    if message.is_topic_message:
        params["message_thread_id"] = message.message_thread_id
    await gateway.call("sendMessage", params, priority=Priority.REPLY)
