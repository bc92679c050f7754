"""What the locks watcher costs the message pipeline, per message.

    python -m benchmarks.moderation [--messages 200000]

Three cases, each `--messages` messages of one chat judged by `ModerationService.watch`: a
group with nothing locked (most groups), a group with links locked and a plain message, and a
member's link in that group (deleted; the admin check answered from the directory's cache, the
notice held back by the cooldown). Nothing is read from a database: locks live in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from typing import Any, cast

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.domain.moderation import LockKind
from bot.domain.watching import WatchedMessage
from bot.ports import ChatAdmin
from bot.services.admins import AdminDirectory
from bot.services.moderation import ModerationService

GROUP = GroupRef(chat_id=-100123, title="Bench", type="supergroup")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


class _Admins:
    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin]:
        return [ChatAdmin(1, False, "administrator")]


def _message(has_link: bool) -> WatchedMessage:
    event = EngagementEvent(
        dedup_key=EngagementEvent.message_key(GROUP.chat_id, 1),
        update_id=1,
        kind=EventKind.MESSAGE,
        group=GROUP,
        occurred_at=NOW,
        actor=Actor(user_id=1000, first_name="m"),
        message_id=1,
        message_kind=MessageKind.TEXT,
        has_link=has_link,
    )
    return WatchedMessage(event, "see example.com" if has_link else "hello")


async def _run(messages: int) -> None:
    clock = _Clock()
    service = ModerationService(
        cast(Any, None),
        clock,
        cast(Any, None),
        AdminDirectory(cast(Any, _Admins()), clock),
        cast(Any, None),
        notice=lambda kind, language: "locked",
        welcome_text=lambda *_: "",
    )
    cases = [
        ("nothing locked", {}, False),
        ("links locked, plain text", {GROUP.chat_id: frozenset({LockKind.LINKS})}, False),
        ("links locked, a member's link", {GROUP.chat_id: frozenset({LockKind.LINKS})}, True),
    ]
    for label, locks, has_link in cases:
        service._locks = dict(locks)
        message = _message(has_link)
        started = time.perf_counter()
        for _ in range(messages):
            await service.watch(message)
        took = time.perf_counter() - started
        print(f"{label:32} {took / messages * 1e6:6.2f} µs a message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    asyncio.run(_run(parser.parse_args().messages))


if __name__ == "__main__":
    main()
