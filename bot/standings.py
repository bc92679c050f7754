"""`groupops standings --chat <id> [--lang en|ru|zh]`: a group's boards and top inviters.

The same service and texts as /leaderboard and the operators' /invites, from the command line
(read only: it sends nothing to Telegram).
"""

from __future__ import annotations

import argparse
from typing import Any

from bot import preflight
from bot.clock import SystemClock
from bot.config import Settings
from bot.ports import ChatAdmin, Outcome, Priority
from bot.preflight import StartupError
from bot.services.engagement import EngagementRecorder
from bot.services.recognition import RecognitionService

LANGUAGES = {"en": "en", "ru": "ru", "zh": "zh_Hans"}


class _SendsNothing:
    """The `ChatGateway` of a read-only command: any send is a bug."""

    async def call(self, method: str, params: dict[str, Any], **options: Any) -> Outcome:
        raise RuntimeError(f"groupops standings sends nothing (asked for {method})")

    async def send_message(self, chat_id: int, text: str, **options: Any) -> Outcome:
        raise RuntimeError("groupops standings sends nothing")

    async def delete_message(
        self, chat_id: int, message_id: int, *, priority: Priority = Priority.MODERATION
    ) -> Outcome:
        raise RuntimeError("groupops standings sends nothing")

    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin] | None:
        return None

    async def get_chat_member_status(self, chat_id: int, user_id: int) -> ChatAdmin | None:
        return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chat", type=int, required=True, help="the group's chat id")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default="en", help="text language")


async def run_standings(settings: Settings, args: argparse.Namespace) -> int:
    """Print the group's weekly and all-time boards and its top inviters; the exit code."""
    from handlers.recognition import leaderboard_text, top_inviters_text
    from storage.engine import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    await preflight.check_database(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        uow_factory = SqlUnitOfWorkFactory(session_factory(engine))
        async with uow_factory() as uow:
            if await uow.groups.get(args.chat) is None:
                raise StartupError(f"no group {args.chat} is recorded in this database")
        clock = SystemClock()
        service = RecognitionService(
            uow_factory,
            clock,
            _SendsNothing(),
            EngagementRecorder(uow_factory, clock),  # never started: writes nothing
            _NoWording(),
            settings.default_timezone,
        )
        await service.load()  # members who opted out are left off the boards
        locale = LANGUAGES[args.lang]
        board = await service.leaderboard(args.chat)
        print(leaderboard_text(board, ("week", "all"), locale))
        print()
        print(top_inviters_text(await service.top_inviters(args.chat), locale))
    finally:
        await engine.dispose()
    return 0


class _NoWording:
    def announcement(self, badges: Any, locale: str) -> str:
        raise RuntimeError("groupops standings announces nothing")
