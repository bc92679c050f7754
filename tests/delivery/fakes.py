"""In-memory fakes for delivery tests: a clock that jumps, a scriptable transport, an outbox."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from bot.ports import OutboxItem


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


class MemoryOutbox:
    """The committed outbox rows, shared by the fake units of work."""

    def __init__(self) -> None:
        self.rows: dict[str, OutboxItem] = {}
        self._ids = itertools.count(1)
        self.commits = 0
        self.slow_reads = 0  # event-loop turns `pending` takes between reading and answering

    def by_id(self, item_id: int) -> OutboxItem:
        return next(row for row in self.rows.values() if row.id == item_id)


class _OutboxRepository:
    """Stages its writes; the unit of work applies them on commit (repositories never commit)."""

    def __init__(self, store: MemoryOutbox) -> None:
        self._store = store
        self.staged: list[Callable[[], None]] = []
        self._added: dict[str, OutboxItem] = {}

    async def add(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: int,
        created_at: datetime,
    ) -> OutboxItem:
        existing = self._store.rows.get(dedup_key) or self._added.get(dedup_key)
        if existing is not None:
            return existing
        item = OutboxItem(
            next(self._store._ids), dedup_key, chat_id, method, dict(params), priority, created_at
        )
        self._added[dedup_key] = item
        self.staged.append(lambda: self._store.rows.setdefault(dedup_key, item))
        return item

    async def pending(self, limit: int = 1000) -> list[OutboxItem]:
        rows = [r for r in self._store.rows.values() if r.sent_at is None and not r.failed_reason]
        for _ in range(self._store.slow_reads):  # a database answers later than it read
            await asyncio.sleep(0)
        return sorted(rows, key=lambda r: r.id)[:limit]

    async def mark_sent(self, item_id: int, sent_at: datetime, message_id: int | None) -> None:
        def apply() -> None:
            row = self._store.by_id(item_id)
            self._store.rows[row.dedup_key] = replace(
                row, sent_at=sent_at, result_message_id=message_id
            )

        self.staged.append(apply)

    async def mark_failed(self, item_id: int, reason: str, failed_at: datetime) -> None:
        def apply() -> None:
            row = self._store.by_id(item_id)
            self._store.rows[row.dedup_key] = replace(row, failed_reason=reason)

        self.staged.append(apply)


class FakeUnitOfWork:
    """Only the outbox is used by delivery; the other repositories are left out on purpose."""

    def __init__(self, store: MemoryOutbox) -> None:
        self._store = store
        self.outbox = _OutboxRepository(store)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.outbox.staged.clear()

    async def commit(self) -> None:
        for apply in self.outbox.staged:
            apply()
        self.outbox.staged.clear()
        self._store.commits += 1


class FakeUnitOfWorkFactory:
    def __init__(self, store: MemoryOutbox | None = None) -> None:
        self.store = store or MemoryOutbox()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


class FixedClock:
    """A wall clock for outbox timestamps."""

    def now(self) -> datetime:
        return datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
