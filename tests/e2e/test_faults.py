"""Faults that need the bot in its own process (issue 15): each ends with nothing lost or doubled.

`groupops run` polls the simulator as a child process while the test makes the database file
read-only under it (or before it starts), kills its PostgreSQL backends mid-batch, hands it an
update it cannot read, floods one group with commands, or gives a member a 4,096-character
name. A verdict reads what Telegram (the simulator) still holds and what the database stored;
SIGTERM must end the bot within 10 s every time. Making a file read-only under a running
process takes `chattr +i` (root); where that is refused those tests are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import RECORDED_UPDATES
from simulator import BotAccount, FloodLimits, Simulator, UserAccount
from storage.engine import create_engine
from storage.migrate import upgrade_to_head
from tests.e2e.bot_runs import (
    BotRun,
    child_env,
    confirmed_not_stored,
    immutable,
    kill_writers,
    problems,
    stored_messages,
    unconfirmed_messages,
)

ALLOWED = [*RECORDED_UPDATES, "my_chat_member", "callback_query"]


@dataclass
class Groups:
    """A bot that is admin in a few groups, their owner and members."""

    sim: Simulator
    bot: BotAccount
    owner: UserAccount
    members: list[UserAccount]
    groups: list[int]

    def post_many(self, group: int, count: int, start: int = 0) -> list[int]:
        """`count` messages round robin over the members; their message ids."""
        return [
            self.sim.post(group, self.members[i % len(self.members)].id, text=f"message {i}")[
                "message_id"
            ]
            for i in range(start, start + count)
        ]


def _groups(sim: Simulator, count: int = 2, members: int = 5) -> Groups:
    bot = sim.create_bot(username="groupops_fault_bot", allowed_updates=ALLOWED)
    owner = sim.create_user(first_name="Olga", language_code="en")
    people = [sim.create_user(first_name=f"Member{i}", language_code="en") for i in range(members)]
    groups = []
    for n in range(count):
        group = sim.create_group(title=f"Group {n}", creator_id=owner.id)
        sim.add_bot(group, bot.id, admin=True)
        for person in people:
            sim.join(group, person.id)
        groups.append(group)
    return Groups(sim, bot, owner, people, groups)


@contextlib.asynccontextmanager
async def _bot(env: dict[str, str], log: Path) -> AsyncIterator[BotRun]:
    run = BotRun(env, log)
    try:
        await run.start()
        yield run
    finally:
        await run.cleanup()


@contextlib.asynccontextmanager
async def _engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _all_stored_once(engine: AsyncEngine, group: int, posted: list[int]) -> None:
    stored = Counter(await stored_messages(engine, group))
    assert sorted(stored) == sorted(posted), "lost or unexpected messages"
    assert max(stored.values()) == 1, "a message stored twice"


# -- a read-only database file while running ---------------------------------------------------


@contextlib.asynccontextmanager
async def _writes_failing(world: Groups, database: Path) -> AsyncIterator[tuple[BotRun, list[int]]]:
    """A bot whose database file turned read-only after 50 messages were stored, with 50 more
    posted since and its writes of them seen failing: the run and the message ids posted. The
    file is writable again after the block."""
    env = child_env(world.sim, world.bot, f"sqlite+aiosqlite:///{database}")
    async with _bot(env, database.parent / "run1.log") as run:
        posted = world.post_many(world.groups[0], 50)
        await run.until("the first messages are confirmed", lambda: not world.sim.updates_pending())
        with immutable(database, Path(f"{database}-wal")):
            posted += world.post_many(world.groups[0], 50, start=50)
            await run.until(
                "a write fails", lambda: "events failed (OperationalError)" in run.log()
            )
            yield run, posted


async def test_writes_failing_on_a_read_only_sqlite_file_crash_nothing_and_confirm_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim, _engine(url) as engine:
        world = _groups(sim, count=1)
        (group,) = world.groups
        async with _writes_failing(world, tmp_path / "g.db") as (run, posted):
            await run.until("writes are retried", lambda: run.log().count("retrying in") >= 4)
            assert run.running
            # Telegram still holds every message whose events could not be written.
            assert unconfirmed_messages(sim, world.bot.id, group) == set(posted[50:])
            await run.kill()
        assert not await confirmed_not_stored(engine, sim, world.bot.id, group, posted)
        # Writable again: the next run is sent what was never confirmed, and stores it once.
        async with _bot(child_env(sim, world.bot, url), tmp_path / "run2.log") as run:
            await run.until("the rest is confirmed", lambda: not sim.updates_pending())
            assert await run.terminate() == 0
        await _all_stored_once(engine, group, posted)


async def test_sigterm_ends_a_bot_whose_writes_keep_failing_within_10_s(tmp_path: Path) -> None:
    async with (
        Simulator(flood_limits=FloodLimits.disabled()) as sim,
        _writes_failing(_groups(sim, count=1), tmp_path / "g.db") as (run, _),
    ):
        assert await run.terminate() == 0


async def test_a_database_read_only_at_start_is_waited_for(tmp_path: Path) -> None:
    database = tmp_path / "g.db"
    url = f"sqlite+aiosqlite:///{database}"
    await upgrade_to_head(url)
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        world = _groups(sim, count=1)
        run = BotRun(
            child_env(sim, world.bot, url, DATABASE_WAIT_SECONDS="60"), tmp_path / "run.log"
        )
        try:
            with immutable(database):
                await run.launch()
                await run.until("it waits", lambda: "database attempt 1 failed" in run.log())
            await run.until("it starts once writable", lambda: "started as @" in run.log())
            assert await run.terminate() == 0
        finally:
            await run.cleanup()
    assert "is read-only" in run.log() and not problems(run.log())


# -- a PostgreSQL backend killed mid-batch -----------------------------------------------------


@pytest.mark.postgres
async def test_postgresql_backends_killed_mid_batch_lose_nothing_and_double_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    total = 5_000
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        world = _groups(sim, count=1, members=20)
        (group,) = world.groups
        env = child_env(sim, world.bot, pg_url)
        async with _bot(env, tmp_path / "run.log") as run, _engine(pg_url) as engine:
            # Start-up's own writes (the bot's readiness in the group) done before any kill.
            await run.until("start-up is done", lambda: "every right it needs" in run.log())
            posted: list[int] = []
            killer = asyncio.create_task(kill_writers(pg_url, 5, lambda: len(posted) >= total))
            while len(posted) < total:
                posted += world.post_many(group, 50, start=len(posted))
                await asyncio.sleep(0.02)  # about 2,500 messages a second, in small bursts
            killed = await killer
            await run.until("everything is confirmed", lambda: not sim.updates_pending(), 60)
            assert run.running
            assert await run.terminate() == 0
            await _all_stored_once(engine, group, posted)
            assert killed >= 1, "no batch was being written when the test looked"
            assert "events failed" in run.log(), "no write was cut"
        # Watchers and ticks that lose their connection log it and go on (DESIGN: a watcher
        # that raises is logged and counted), so tracebacks are expected here; a crash is not.
        assert "CRITICAL" not in run.log()


# -- an update the bot cannot read -------------------------------------------------------------


async def test_an_unreadable_update_is_skipped_and_counted_and_polling_goes_on(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        world = _groups(sim, count=1)
        (group,) = world.groups
        # The owner's private chat is the ops chat: the whole bot's counters are read there.
        env = child_env(sim, world.bot, url, OPS_CHAT_ID=str(world.owner.id))
        async with _bot(env, tmp_path / "run.log") as run:
            before = world.post_many(group, 3)
            original = sim.history(group)[-1]
            queue = sim.bot_state(world.bot.id).queue
            # Edits dated 1e20, as a JSON float and as an integer (reading it overflows).
            bad = [
                queue.push("edited_message", {**original, "edit_date": date})
                for date in (1e20, 10**20)
            ]
            after = world.post_many(group, 3, start=3)
            await run.until("the bad updates are confirmed too", lambda: not sim.updates_pending())
            for update in bad:
                assert update is not None
                assert f"unreadable update {update.update_id} skipped" in run.log()
            private = sim.start_private(world.owner.id, text="/health")["chat"]["id"]

            def health_answered() -> bool:
                return any("🩺" in m.get("text", "") for m in sim.sent(private))

            await run.until("/health answers", health_answered)
            (report,) = [m["text"] for m in sim.sent(private) if "🩺" in m.get("text", "")]
            assert ", 2 skipped" in report
            assert run.running
            assert await run.terminate() == 0
        async with _engine(url) as engine:
            await _all_stored_once(engine, group, [*before, *after])  # /health is no message
        assert not problems(run.log())


# -- a command flood ---------------------------------------------------------------------------


def _answers(sim: Simulator, group: int) -> list[int]:
    """The commands the bot answered in `group` (the message each reply replies to)."""
    return [m["reply_to_message"]["message_id"] for m in sim.sent(group) if "reply_to_message" in m]


async def test_a_command_flood_holds_up_no_other_group_and_sigterm_drops_its_replies(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    # Telegram's limits: the flood's replies wait on the busy group's 20 a minute.
    async with Simulator(flood_limits=FloodLimits()) as sim:
        world = _groups(sim, count=2)
        busy, quiet = world.groups
        flooder = world.members[0]
        # A rate high enough that every command is answered: 120 replies queue in delivery.
        env = child_env(sim, world.bot, url, COMMANDS_PER_MINUTE="1000")
        async with _bot(env, tmp_path / "run.log") as run, _engine(url) as engine:
            flood = [sim.post(busy, flooder.id, text="/help")["message_id"] for _ in range(120)]
            (other,) = world.post_many(quiet, 1)

            async def quiet_stored() -> bool:
                return await stored_messages(engine, quiet) == [other]

            await run.until("the other group's message is stored", quiet_stored)
            answered = _answers(sim, busy)
            assert len(answered) < 40, "stored only after most of the flood was answered"
            await run.until(
                "every command is confirmed", lambda: not sim.updates_pending(), limit=60
            )
            assert len(_answers(sim, busy)) < len(flood)
            assert await run.terminate() == 0  # within 10 s, with replies still queued
        # Said, not silently lost: the replies still queued behind the group's limit.
        assert "queued calls dropped" in run.log()
        answered = _answers(sim, busy)
        assert len(answered) == len(set(answered)), "a command answered twice"
        assert set(answered) <= set(flood)
        assert not problems(run.log())


# -- a name longer than a column --------------------------------------------------------------

# 4,096 characters: Telegram allows 64, the columns 255. SQLite does not enforce the length (the
# chaos test gives this name to a member there); on PostgreSQL the chaos test uses 255
# characters until this test passes.
LONG_NAME = "long" * 1_024


@pytest.mark.postgres
async def test_a_member_with_a_4096_character_name_is_recorded_like_any_other(
    tmp_path: Path, pg_url: str
) -> None:
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        world = _groups(sim, count=1)
        (group,) = world.groups
        member = sim.create_user(first_name=LONG_NAME, last_name=LONG_NAME)
        sim.join(group, member.id)
        async with _bot(child_env(sim, world.bot, pg_url), tmp_path / "run.log") as run:
            posted = [sim.post(group, member.id, text=f"hello {n}")["message_id"] for n in range(3)]
            posted += world.post_many(group, 3)
            await run.until("everything is confirmed", lambda: not sim.updates_pending())
            assert await run.terminate() == 0
        async with _engine(pg_url) as engine:
            await _all_stored_once(engine, group, posted)
        assert "cannot be stored" not in run.log()
