"""A failed admin look-up is never taken for "no admins": the last known list stays, and a
caller who cannot be checked is told so, not refused."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import Update

from bot.app import build_dispatcher
from bot.config import Settings
from bot.domain.rate import CommandRate
from bot.features import Runtime
from bot.ports import ChatAdmin, Outcome
from bot.services.admins import AdminDirectory, AdminsUnknown
from bot.services.engagement import EngagementRecorder
from handlers.features import FEATURES
from tests.fakes import FakeClock

GROUP = -100500
OWNER = ChatAdmin(user_id=7, is_bot=False, status="creator")


class Gateway:
    """Admin look-ups that fail while `down`; replies noted."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[str] = []

    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin] | None:
        return None if self.down else [OWNER]

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Outcome:
        self.sent.append(text)
        return Outcome(ok=True)


async def test_an_outage_keeps_the_last_known_admins() -> None:
    gateway, clock = Gateway(), FakeClock()
    admins = AdminDirectory(gateway, clock, ttl=60)  # type: ignore[arg-type]
    assert await admins.is_admin(GROUP, OWNER.user_id, None)
    gateway.down = True
    clock.advance(120)  # the cached list has expired, and Telegram cannot be asked
    assert await admins.is_admin(GROUP, OWNER.user_id, None)
    assert not await admins.is_admin(GROUP, 8, None)


async def test_with_nothing_known_an_outage_is_no_answer() -> None:
    gateway = Gateway()
    gateway.down = True
    admins = AdminDirectory(gateway, FakeClock())  # type: ignore[arg-type]
    with pytest.raises(AdminsUnknown):
        await admins.is_admin(GROUP, OWNER.user_id, None)


async def test_the_owner_is_told_the_check_failed_not_that_only_admins_may() -> None:
    gateway = Gateway()
    gateway.down = True
    admins = AdminDirectory(gateway, FakeClock())  # type: ignore[arg-type]
    runtime = Runtime(
        Settings(bot_token="1:x"),  # type: ignore[arg-type]
        FakeClock(),
        None,  # type: ignore[arg-type]
        gateway,  # type: ignore[arg-type]
        EngagementRecorder(None, FakeClock()),  # type: ignore[arg-type]  # never started
        admins,
    )
    dispatcher = build_dispatcher([make(runtime) for make in FEATURES])

    class Always:
        async def first_delivery(self, dedup_key: str) -> bool:
            return True

    dispatcher.workflow_data.update(
        {name: s for f in (make(runtime) for make in FEATURES) for name, s in f.services.items()},
        gateway=gateway,
        admins=admins,
        intake=Always(),
        recorder=None,  # the check comes first: neither is reached
        readiness=None,
        clock=FakeClock(),
        command_rate=CommandRate(),
    )
    update = Update.model_validate(
        {
            "update_id": 1,
            "message": {
                "message_id": 3,
                "date": 1_764_000_000,
                "chat": {"id": GROUP, "type": "supergroup", "title": "G"},
                "from": {"id": OWNER.user_id, "is_bot": False, "first_name": "O"},
                "text": "/stats",
            },
        }
    )
    bot = Bot("1:x")
    try:
        await dispatcher.feed_update(bot, update)
    finally:
        await bot.session.close()
    assert gateway.sent == [
        "I can't check who the group's admins are right now. Please try again in a minute."
    ]
