"""A command is acknowledged with 👀 only when its reply would wait past the threshold, and the
reply is queued, not waited for, when the gateway can queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Chat, Message, User

from bot.ports import Outcome, Priority
from handlers.replies import ACKNOWLEDGE_AFTER, acknowledge_if_slow, reply

GROUP = Chat(id=-100777, type="supergroup", title="Makers")


def _command() -> Message:
    return Message(
        message_id=5,
        date=datetime(2026, 11, 25, tzinfo=UTC),
        chat=GROUP,
        from_user=User(id=1, is_bot=False, first_name="Olga"),
        text="/help",
    )


class Gateway:
    """Says how long a reply would wait; records calls; queues messages without sending."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.calls: list[tuple[str, dict[str, Any], Priority]] = []
        self.queued: list[str] = []

    def reply_wait(self, chat_id: int) -> float:
        return self.wait

    async def call(
        self, method: str, params: dict[str, Any], *, priority: Priority, chat_id: int
    ) -> Outcome:
        self.calls.append((method, params, priority))
        return Outcome(ok=True, result=True)

    def queue_message(self, chat_id: int, text: str, **_: object) -> asyncio.Future[Outcome]:
        self.queued.append(text)
        return asyncio.get_running_loop().create_future()  # never sent: nobody waits for it


@pytest.mark.parametrize(
    ("wait", "reacted"), [(0.0, False), (ACKNOWLEDGE_AFTER, False), (ACKNOWLEDGE_AFTER + 0.1, True)]
)
async def test_only_a_reply_that_will_wait_is_acknowledged(wait: float, reacted: bool) -> None:
    gateway = Gateway(wait)
    assert await acknowledge_if_slow(_command(), gateway) is reacted  # type: ignore[arg-type]
    reactions = [c for c in gateway.calls if c[0] == "setMessageReaction"]
    assert len(reactions) == int(reacted)
    if reacted:
        (_, params, priority) = reactions[0]
        assert params["message_id"] == 5 and params["reaction"][0]["emoji"] == "👀"
        assert priority is Priority.MODERATION  # ahead of the queued replies


async def test_the_reply_is_queued_not_waited_for() -> None:
    gateway = Gateway(30.0)
    await asyncio.wait_for(reply(_command(), gateway, "hello"), 1)  # type: ignore[arg-type]
    assert gateway.queued == ["hello"]
    assert [c[0] for c in gateway.calls] == ["setMessageReaction"]
