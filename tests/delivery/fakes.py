"""In-memory fakes for delivery tests: a clock that jumps, a scriptable transport, an outbox."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes import FakeUnitOfWorkFactory, MemoryOutbox

__all__ = ["FakeUnitOfWorkFactory", "MemoryOutbox"]


async def until(condition: Callable[[], bool], turns: int = 100_000) -> None:
    """Let the event loop run until `condition` holds (fails after `turns` turns)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


class FakeTime:
    """Monotonic time that moves only when delivery sleeps, straight to the end of the sleep.

    Before jumping it lets every runnable task run, so time passes only when all of them wait:
    waits come out exact, and a test of minutes of Telegram time runs in milliseconds.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        for _ in range(20):
            await asyncio.sleep(0)
        self.now += delay


@dataclass(frozen=True)
class Call:
    """One request that reached the fake transport."""

    at: float
    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


class FakeTransport:
    """Records every call with the time it arrived; fails the ways it is told to, else succeeds.

    `fail(method, *errors)` makes the next calls of `method` raise those errors in turn;
    `fail_chat(chat_id, error)` makes every later call to that chat raise `error`.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.calls: list[Call] = []
        self._scripted: dict[str, deque[Exception]] = defaultdict(deque)
        self._chat_errors: dict[Any, Exception] = {}
        self._message_ids = itertools.count(1)
        self.admins: dict[int, list[dict[str, Any]]] = {}
        self.members: dict[tuple[int, int], dict[str, Any]] = {}
        self.gate: asyncio.Event | None = None  # when set to an unset Event, calls hang on it

    def fail(self, method: str, *errors: Exception) -> None:
        self._scripted[method].extend(errors)

    def fail_chat(self, chat_id: Any, error: Exception | None) -> None:
        if error is None:
            self._chat_errors.pop(chat_id, None)
        else:
            self._chat_errors[chat_id] = error

    def sent(self, chat_id: Any = None, method: str = "sendMessage") -> list[Call]:
        """Calls of `method` (to `chat_id` when given), in the order they arrived."""
        return [c for c in self.calls if c.method == method and chat_id in (None, c.chat_id)]

    async def execute(self, method: str, params: dict[str, Any]) -> Any:
        await asyncio.sleep(0)  # a real request yields at least once
        if self.gate is not None:
            await self.gate.wait()
        self.calls.append(Call(self._clock(), method, dict(params)))
        if self._scripted[method]:
            raise self._scripted[method].popleft()
        if params.get("chat_id") in self._chat_errors:
            raise self._chat_errors[params["chat_id"]]
        if method == "getChatAdministrators":
            return self.admins.get(params["chat_id"], [])
        if method == "getChatMember":
            key = (params["chat_id"], params["user_id"])
            return self.members.get(key, {"status": "member", "user": {"id": params["user_id"]}})
        if method.startswith("send"):
            return {
                "message_id": next(self._message_ids),
                "chat": {"id": params.get("chat_id")},
                "text": params.get("text"),
            }
        return True


class FixedClock:
    """A wall clock for outbox timestamps."""

    def now(self) -> datetime:
        return datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
