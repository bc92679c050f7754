"""`groupops modlog --chat <id> [--user <id>] [--lang en|ru|zh]`: a group's moderation log.

The same service and text as /modlog, from the command line (read only: it sends nothing to
Telegram and needs no running bot).
"""

from __future__ import annotations

import argparse
from typing import Any, cast

from bot import preflight
from bot.clock import SystemClock
from bot.config import Settings
from bot.domain.moderation import Person
from bot.preflight import StartupError
from bot.services.engagement import EngagementRecorder
from bot.services.moderation import ModerationService

LANGUAGES = {"en": "en", "ru": "ru", "zh": "zh_Hans"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chat", type=int, required=True, help="the group's chat id")
    parser.add_argument("--user", type=int, help="only the actions about this member (user id)")
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default="en", help="text language")


async def run_modlog(settings: Settings, args: argparse.Namespace) -> int:
    """Print the group's latest moderation actions (about one member, or all); the exit code."""
    from handlers.moderation import modlog_text
    from storage.engine import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    await preflight.check_database(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        uow_factory = SqlUnitOfWorkFactory(session_factory(engine))
        async with uow_factory() as uow:
            if await uow.groups.get(args.chat) is None:
                raise StartupError(f"no group {args.chat} is recorded in this database")
            target: Person | None = None
            if args.user is not None:
                target = await uow.moderation.person(args.user) or Person(args.user, str(args.user))
        clock = SystemClock()
        nothing = cast(Any, None)  # reading the log sends nothing and asks no admins
        service = ModerationService(
            uow_factory,
            clock,
            EngagementRecorder(uow_factory, clock),  # never started: writes nothing
            nothing,
            nothing,
            notice=nothing,
            welcome_text=nothing,
        )
        entries = await service.entries(args.chat, args.user)
        if target is not None and target.name == str(target.user_id) and entries:
            target = entries[0].target or target  # no profile kept: the name the log knew
        print(modlog_text(LANGUAGES[args.lang], entries, target))
    finally:
        await engine.dispose()
    return 0
