"""/health: how ingestion and delivery are doing, for the group's admins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.ports import ChatGateway, Priority
from bot.services.admins import AdminDirectory
from handlers import render
from handlers.filters import in_group, looks_like_command
from handlers.i18n import pick_locale


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Counters since start, and the delivery queue as it is now."""

    updates_accepted: int
    updates_skipped: int
    events_written: int
    events_duplicate: int
    events_buffered: int
    failed_flushes: int
    queued: int
    sent: int
    retried: int
    shed: int
    failed: int
    longest_wait: float  # seconds of the longest 429 wait in force
    closed_chats: int


def router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    health = Router(name="health")
    health.message.filter(looks_like_command)
    health.message.register(health_command, Command("health"), in_group)
    return health


async def health_command(
    message: Message,
    admins: AdminDirectory,
    gateway: ChatGateway,
    health: Callable[[], HealthReport],
) -> None:
    locale = pick_locale(message.from_user.language_code if message.from_user else None)
    user_id = message.from_user.id if message.from_user else None
    sender_chat_id = message.sender_chat.id if message.sender_chat else None
    if await admins.is_admin(message.chat.id, user_id, sender_chat_id):
        text = render.health(health(), locale)
    else:
        text = render.admins_only(locale, "health")
    await gateway.send_message(
        message.chat.id, text, priority=Priority.REPLY, reply_to_message_id=message.message_id
    )
