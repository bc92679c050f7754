"""Crash test (DESIGN invariant 1): SIGKILL the bot mid-stream, restart it, nothing lost or twice.

The simulator runs in this process; `groupops run` runs as a real subprocess against it. The
test streams 20,000 messages from 200 members, kills the bot with SIGKILL once the database
holds some of them, streams the rest while it is down, starts it again and checks that the
database ends up with every message event exactly once and every member's count exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import ALLOWED_UPDATES
from bot.domain.events import EventKind
from simulator import BotAccount, FloodLimits, Simulator
from storage.engine import create_engine
from storage.models import events_table, members_table

pytestmark = pytest.mark.slow

MESSAGES = 20_000
MEMBERS = 200
CHUNK = 100  # messages posted between two yields to the event loop
BACKLOG = 1_000  # while the bot runs, keep at most this many updates waiting for it
KILL_AFTER = 3_000  # SIGKILL once the database holds more message events than this
START_TIMEOUT = 60.0  # first run: until KILL_AFTER events are stored
CATCH_UP_TIMEOUT = 120.0  # second run: until all 20,000 are stored and confirmed
STOP_TIMEOUT = 30.0
MESSAGE = EventKind.MESSAGE.value


@dataclass
class Stream:
    """What the test posted: message id -> sender, in posting order."""

    senders: dict[int, int] = field(default_factory=dict)

    @property
    def posted(self) -> int:
        return len(self.senders)


class BotProcess:
    """One `groupops run` subprocess writing its output to a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                env=self.env,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def kill(self) -> int:
        """SIGKILL and reap; returns the exit code (-9)."""
        assert self.proc is not None
        if self.running:
            os.kill(self.proc.pid, signal.SIGKILL)
        return await asyncio.wait_for(self.proc.wait(), timeout=STOP_TIMEOUT)

    async def terminate(self) -> int:
        """SIGTERM (a clean stop) and reap; returns the exit code."""
        assert self.proc is not None
        if self.running:
            os.kill(self.proc.pid, signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout=STOP_TIMEOUT)

    async def cleanup(self) -> None:
        """Leave nothing running, whatever happened."""
        if self.proc is not None and self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), timeout=STOP_TIMEOUT)


async def _wait_for(
    what: str,
    check: Callable[[], Awaitable[bool]],
    timeout: float,
    bot: BotProcess,
    interval: float = 0.02,
) -> float:
    """Wait until `check()` holds; fail (with the bot's log) if it never does or the bot dies."""
    started = time.monotonic()
    deadline = started + timeout
    while not await check():
        if not bot.running:
            pytest.fail(f"groupops exited ({bot.proc and bot.proc.returncode}) before {what}:\n"
                        f"{bot.log_tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached in {timeout}s\n{bot.log_tail()}")
        await asyncio.sleep(interval)
    return time.monotonic() - started


async def _message_events(engine: AsyncEngine, chat_id: int) -> int:
    e = events_table.c
    query = select(func.count()).where(e.chat_id == chat_id, e.kind == MESSAGE)
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def _stream(
    sim: Simulator,
    bot: BotAccount,
    group: int,
    members: list[int],
    stream: Stream,
    unpaced: asyncio.Event,
) -> None:
    """Post MESSAGES messages, round robin over `members`, CHUNK at a time.

    While the bot runs the backlog in the simulator stays under BACKLOG, so the stream is still
    going when the kill comes; once `unpaced` is set (the bot is dead) the rest goes in at once.
    """
    i = 0
    while i < MESSAGES:
        if not unpaced.is_set() and sim.updates_pending(bot.id) >= BACKLOG:
            await asyncio.sleep(0.005)
            continue
        for _ in range(min(CHUNK, MESSAGES - i)):
            sender = members[i % len(members)]
            message = sim.post(group, sender, text=f"message {i} from {sender}")
            stream.senders[message["message_id"]] = sender
            i += 1
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def _engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(
    db_url: str, tmp_path: Path
) -> None:
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        bot = sim.create_bot(username="groupops_crash_bot", allowed_updates=list(ALLOWED_UPDATES))
        owner = sim.create_user(first_name="Owner")
        group = sim.create_group(title="Crash club", creator_id=owner.id)
        sim.add_bot(group, bot.id, admin=True)
        members = [sim.create_user(first_name=f"Member{i}").id for i in range(MEMBERS)]
        for member in members:
            sim.join(group, member)

        env = {
            **os.environ,
            "BOT_TOKEN": bot.token,
            "TELEGRAM_API_BASE": sim.url,
            "DATABASE_URL": db_url,
            "AUTO_MIGRATE": "true",
            "LOG_LEVEL": "INFO",
        }
        first = BotProcess(env, tmp_path / "run1.log", tmp_path)
        second = BotProcess(env, tmp_path / "run2.log", tmp_path)
        stream = Stream()
        unpaced = asyncio.Event()
        streamer: asyncio.Task[None] | None = None
        queue = sim.bot_state(bot.id).queue
        async with _engine(db_url) as engine:
            try:
                # First run: stream, and SIGKILL it once it has stored some of the messages.
                began = time.monotonic()
                await first.start()

                async def polling() -> bool:  # the database is migrated by then
                    return any(c.method == "getUpdates" for c in sim.calls(bot.id))

                startup = await _wait_for("the first run polls", polling, START_TIMEOUT, first)
                streamer = asyncio.create_task(
                    _stream(sim, bot, group, members, stream, unpaced)
                )

                async def some_stored() -> bool:
                    if streamer.done():
                        streamer.result()  # a failing stream fails the test
                    return await _message_events(engine, group) > KILL_AFTER

                await _wait_for("the first run stores some messages", some_stored, START_TIMEOUT,
                                first)
                posted_at_kill = stream.posted
                exit_code = await first.kill()
                assert exit_code == -signal.SIGKILL
                killed_at = time.monotonic()
                stored_at_kill = await _message_events(engine, group)
                # Messages stored but not confirmed to the simulator: the redelivery to come.
                head = queue.peek(1)
                first_unconfirmed = (
                    head[0].payload.get("message_id", 0) if head else max(stream.senders) + 1
                )
                e = events_table.c
                async with engine.connect() as connection:
                    stored_unconfirmed = int(
                        (
                            await connection.execute(
                                select(func.count()).where(
                                    e.chat_id == group,
                                    e.kind == MESSAGE,
                                    e.message_id >= first_unconfirmed,
                                )
                            )
                        ).scalar_one()
                    )
                print(
                    f"\n[{db_url.split(':')[0]}] started in {startup:.1f}s, "
                    f"killed after {killed_at - began:.1f}s: "
                    f"{stored_at_kill} message events stored, {posted_at_kill} posted, "
                    f"{stored_unconfirmed} stored but unconfirmed (to be redelivered)"
                )
                assert 0 < stored_at_kill < MESSAGES, "the kill did not land mid-stream"
                assert posted_at_kill < MESSAGES, "the stream had ended before the kill"

                # The bot is down: stream the rest.
                unpaced.set()
                await asyncio.wait_for(streamer, timeout=START_TIMEOUT)
                assert stream.posted == MESSAGES
                assert await _message_events(engine, group) == stored_at_kill

                # Second run: catch up on everything, exactly once.
                restarted = time.monotonic()
                await second.start()

                async def caught_up() -> bool:
                    return (
                        await _message_events(engine, group) >= MESSAGES
                        and sim.updates_pending(bot.id) == 0
                    )

                await _wait_for("the second run catches up", caught_up, CATCH_UP_TIMEOUT, second)
                catch_up = time.monotonic() - restarted
                exit_code = await second.terminate()
                assert exit_code == 0, f"SIGTERM exit code {exit_code}\n{second.log_tail()}"
                print(
                    f"[{db_url.split(':')[0]}] second run caught up on "
                    f"{MESSAGES - stored_at_kill} messages in {catch_up:.1f}s; "
                    f"total {time.monotonic() - began:.1f}s"
                )
            finally:
                if streamer is not None and not streamer.done():
                    streamer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await streamer
                await first.cleanup()
                await second.cleanup()

            await _check_exactly_once(engine, group, stream)


async def _check_exactly_once(engine: AsyncEngine, group: int, stream: Stream) -> None:
    e, m = events_table.c, members_table.c
    async with engine.connect() as connection:
        total, distinct = (
            await connection.execute(
                select(func.count(), func.count(func.distinct(e.message_id))).where(
                    e.chat_id == group, e.kind == MESSAGE
                )
            )
        ).one()
        stored = {
            message_id: user_id
            for message_id, user_id in await connection.execute(
                select(e.message_id, e.user_id).where(e.chat_id == group, e.kind == MESSAGE)
            )
        }
        counts = {
            user_id: message_count
            for user_id, message_count in await connection.execute(
                select(m.user_id, m.message_count).where(m.chat_id == group)
            )
        }
    assert total == MESSAGES
    assert distinct == MESSAGES
    assert stored == stream.senders  # the same message ids, each from its sender
    assert sum(counts.values()) == MESSAGES  # a redelivered batch was not counted twice
    expected = Counter(stream.senders.values())
    assert {user: counts.get(user, 0) for user in expected} == dict(expected)
    assert all(count == 0 for user, count in counts.items() if user not in expected)
