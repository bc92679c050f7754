"""/health: how ingestion and delivery are doing, for the group's admins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.ports import ChatGateway
from bot.services.admins import AdminDirectory
from handlers import render
from handlers.filters import in_group
from handlers.replies import locale_of, reply, sent_by_admin


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
    judged: int = 0  # messages the watchers judged
    judging: int = 0  # messages waiting for their watchers
    judge_lag: float = 0.0  # seconds the oldest of them has waited
    watcher_errors: int = 0
    decisions: int = 0
    lines: tuple[tuple[str, int | float | str], ...] = ()  # features' own: label, value


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    health = Router(name="health")
    health.message.register(health_command, Command("health"), in_group)
    return health


async def health_command(
    message: Message,
    admins: AdminDirectory,
    gateway: ChatGateway,
    health: Callable[[], HealthReport],
) -> None:
    locale = locale_of(message)
    if await sent_by_admin(message, admins):
        text = render.health(health(), locale)
    else:
        text = render.admins_only(locale, "health")
    await reply(message, gateway, text)
