"""The watcher seam: each new message judged once, in order per chat, before it is committed.

Through the real intake (raw JSON in), recorder and database; the watchers are test doubles
that record what they saw and hold chats back on events the test controls (no sleeps).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from sqlalchemy import func, select

from bot.domain.watching import Decision, WatchedMessage
from bot.ports import Outcome, Priority
from bot.services.decisions import DecisionApplier
from bot.services.engagement import EngagementRecorder
from bot.services.watching import WatchPipeline
from handlers.intake import UpdateIntake
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.models import decisions_table, events_table
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

GUARD = 10.0  # seconds: only a hung test waits this long; no verdict rests on it
ALICE = {"id": 501, "is_bot": False, "first_name": "Alice"}
TOKEN = "42:TEST"


def chat(n: int) -> dict[str, Any]:
    return {"id": -1000 - n, "type": "supergroup", "title": f"Group {n}"}


def update(update_id: int, group: int, message_id: int, text: str = "hi") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 1_764_000_000,
            "chat": chat(group),
            "from": ALICE,
            "text": text,
        },
    }


class Seen:
    """A watcher that notes what it judged; chats listed in `held` wait for their gate."""

    name = "seen"
    wants_edits = False

    def __init__(self) -> None:
        self.order: dict[int, list[int]] = {}
        self.held: dict[int, asyncio.Event] = {}
        self.delete_text: str | None = None

    async def watch(self, message: WatchedMessage) -> Sequence[Decision]:
        gate = self.held.get(message.chat_id)
        if gate is not None:
            await gate.wait()
        self.order.setdefault(message.chat_id, []).append(message.event.message_id or 0)
        if message.text == self.delete_text and message.event.message_id is not None:
            return [Decision.delete(message.chat_id, message.event.message_id, "test")]
        return []


class Raises:
    name = "raises"
    wants_edits = True

    async def watch(self, message: WatchedMessage) -> Sequence[Decision]:
        raise RuntimeError(f"boom on {message.text}")


class Gateway:
    """Notes deletions; the decision applier's only outbound call in these tests."""

    def __init__(self) -> None:
        self.deleted: list[tuple[int, int]] = []

    async def delete_message(
        self, chat_id: int, message_id: int, *, priority: Priority = Priority.MODERATION
    ) -> Outcome:
        self.deleted.append((chat_id, message_id))
        return Outcome(ok=True)


class Stack:
    """Recorder, pipeline and intake over one database, as the app wires them."""

    def __init__(self, url: str, watchers: Sequence[Any], max_pending: int = 10_000) -> None:
        self.engine = create_engine(url)
        self.uow_factory = SqlUnitOfWorkFactory(session_factory(self.engine))
        self.recorder = EngagementRecorder(self.uow_factory, FakeClock())
        self.pipeline = WatchPipeline(watchers, self.recorder, max_pending=max_pending)
        self.gateway = Gateway()
        self.applier = DecisionApplier(self.gateway, self.uow_factory)  # type: ignore[arg-type]
        self.recorder.on_decided = self.applier.apply_soon
        self.bot = Bot(TOKEN)
        self.intake = UpdateIntake(self.bot, Dispatcher(), self.recorder, self.pipeline)

    async def start(self, apply: bool = True) -> Stack:
        await self.recorder.start()
        if apply:
            await self.applier.start()
        return self

    async def stop(self) -> None:
        await self.intake.drain()
        await self.recorder.stop()
        await self.applier.stop()
        await self.bot.session.close()
        await self.engine.dispose()

    async def count(self, table: Any) -> int:
        async with self.engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
async def url(migrated_db_url: str) -> str:
    return migrated_db_url


async def test_each_chat_is_judged_in_order_and_chats_do_not_wait_for_each_other(
    url: str,
) -> None:
    seen = Seen()
    seen.held[chat(0)["id"]] = asyncio.Event()  # chat 0's watcher is stuck…
    stack = await Stack(url, [seen]).start()
    try:
        for n in range(60):
            await stack.intake.accept(update(n + 1, group=n % 3, message_id=n // 3 + 1))
        # …yet chats 1 and 2 are judged and recorded in full.
        others = asyncio.ensure_future(stack.pipeline.settled())
        judged = [len(seen.order.get(chat(n)["id"], [])) for n in (1, 2)]
        while judged != [20, 20]:
            await asyncio.sleep(0)
            judged = [len(seen.order.get(chat(n)["id"], [])) for n in (1, 2)]
        assert chat(0)["id"] not in seen.order
        assert stack.pipeline.pending == 20
        assert not others.done()  # durability waits for chat 0 too
        seen.held[chat(0)["id"]].set()
        await asyncio.wait_for(stack.intake.durable(), GUARD)
        await others
        for group in range(3):
            assert seen.order[chat(group)["id"]] == list(range(1, 21))
        assert await stack.count(events_table) == 60
    finally:
        await stack.stop()


def reaction(update_id: int, group: int, message_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message_reaction": {
            "chat": chat(group),
            "message_id": message_id,
            "user": {"id": 502, "is_bot": False, "first_name": "Bob"},
            "date": 1_764_000_001,
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}],
        },
    }


async def test_a_reaction_to_a_message_still_being_judged_is_recorded_after_it(
    url: str,
) -> None:
    seen = Seen()
    seen.held[chat(0)["id"]] = asyncio.Event()  # message 1's judging is under way…
    stack = await Stack(url, [seen]).start()
    try:
        await stack.intake.accept(update(1, 0, 1))
        await stack.intake.accept(reaction(2, 0, 1))  # …when a reaction to it comes in
        await stack.intake.accept(reaction(3, 1, 9))  # another chat's waits for nothing
        await asyncio.wait_for(stack.recorder.durable(), GUARD)
        assert await stack.count(events_table) == 1
        seen.held[chat(0)["id"]].set()
        await asyncio.wait_for(stack.intake.durable(), GUARD)
        async with stack.engine.connect() as connection:
            rows = await connection.execute(
                select(events_table.c.kind)
                .where(events_table.c.chat_id == chat(0)["id"])
                .order_by(events_table.c.id)
            )
            kinds = list(rows.scalars())
        assert kinds == ["message", "reaction_added"]  # the reaction finds its message
    finally:
        await stack.stop()


async def test_a_redelivery_is_not_watched_again(url: str) -> None:
    seen = Seen()
    first = await Stack(url, [seen]).start()
    try:
        await first.intake.accept(update(7, 0, 7))
        await first.intake.accept(update(7, 0, 7))  # the same update twice at once
        await asyncio.wait_for(first.intake.durable(), GUARD)
    finally:
        await first.stop()
    assert seen.order == {chat(0)["id"]: [7]}
    # A restart: Telegram sends the unconfirmed update again, and a new one.
    again = await Stack(url, [seen]).start()
    try:
        await again.intake.accept(update(7, 0, 7))
        await again.intake.accept(update(8, 0, 8))
        await asyncio.wait_for(again.intake.durable(), GUARD)
        assert await again.recorder.first_delivery(f"m:{chat(0)['id']}:7") is False
    finally:
        await again.stop()
    assert seen.order == {chat(0)["id"]: [7, 8]}


async def test_a_raising_watcher_stops_neither_the_others_nor_the_intake(url: str) -> None:
    seen = Seen()
    stack = await Stack(url, [Raises(), seen]).start()
    try:
        for n in range(1, 4):
            await stack.intake.accept(update(n, 0, n, text="secret words"))
        await asyncio.wait_for(stack.intake.durable(), GUARD)
        assert seen.order == {chat(0)["id"]: [1, 2, 3]}
        assert stack.pipeline.metrics.errors == 3
        assert stack.pipeline.errors_by_watcher == {"raises": 3}
        assert await stack.count(events_table) == 3
    finally:
        await stack.stop()


async def test_decisions_are_committed_with_the_message_and_applied_after_a_crash(
    url: str,
) -> None:
    seen = Seen()
    seen.delete_text = "buy now"
    crashed = await Stack(url, [seen]).start(apply=False)  # dies before applying anything
    await crashed.intake.accept(update(1, 0, 1, text="buy now"))
    await crashed.intake.accept(update(2, 0, 2, text="hello"))
    await asyncio.wait_for(crashed.intake.durable(), GUARD)  # what is confirmed to Telegram
    assert await crashed.count(decisions_table) == 1
    assert crashed.gateway.deleted == []
    await crashed.recorder.stop()
    await crashed.bot.session.close()
    await crashed.engine.dispose()

    restarted = await Stack(url, [seen]).start()
    try:
        await asyncio.wait_for(restarted.applier.stop(), GUARD)
        assert restarted.gateway.deleted == [(chat(0)["id"], 1)]
        assert await restarted.count(decisions_table) == 0
    finally:
        await restarted.stop()
    assert seen.order == {chat(0)["id"]: [1, 2]}  # judged once, not again after the restart


async def test_a_burst_with_a_slow_watcher_keeps_memory_bounded_and_drops_nothing(
    url: str,
) -> None:
    seen = Seen()
    gate = seen.held[chat(0)["id"]] = asyncio.Event()
    stack = await Stack(url, [seen], max_pending=500).start()
    most_waiting = 0

    async def feed() -> None:
        for n in range(1, 10_001):
            await stack.intake.accept(update(n, 0, n))

    try:
        feeding = asyncio.create_task(feed())
        while stack.pipeline.pending < 500:  # noqa: ASYNC110 - yields to the loop only
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not feeding.done()  # held back, not buffering
        gate.set()
        while not feeding.done():
            most_waiting = max(most_waiting, stack.pipeline.pending)
            await asyncio.sleep(0)
        await feeding
        await asyncio.wait_for(stack.intake.durable(), GUARD * 3)
        assert most_waiting <= 500
        assert seen.order[chat(0)["id"]] == list(range(1, 10_001))
        assert await stack.count(events_table) == 10_000
    finally:
        await stack.stop()


async def test_watched_text_never_reaches_the_database_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'private.db'}"
    await upgrade_to_head(url)
    seen = Seen()
    seen.delete_text = "TOPSECRET-4711 buy"
    stack = await Stack(url, [Raises(), seen]).start(apply=False)
    try:
        for n in range(1, 51):
            await stack.intake.accept(update(n, 0, n, text="TOPSECRET-4711 buy"))
        await asyncio.wait_for(stack.intake.durable(), GUARD)
        assert await stack.count(decisions_table) == 50  # the decisions are stored…
    finally:
        await stack.stop()
    stored = _all_bytes(tmp_path)
    assert b"TOPSECRET" not in stored  # …but the text they were made from is not


def _all_bytes(directory: Path) -> bytes:
    """The database file, its WAL and anything else SQLite left beside it."""
    return b"".join(path.read_bytes() for path in directory.iterdir() if path.is_file())
