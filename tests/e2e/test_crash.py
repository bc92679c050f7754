"""Crash test (DESIGN invariant 1): SIGKILL the bot mid-stream, restart it, nothing lost or twice.

The simulator runs in this process; `groupops run` runs as a real subprocess against it. The
test streams 20,000 messages from 200 members and SIGKILLs the bot twice mid-stream:

1. wherever it happens to be once the database holds some messages (a batch may be half
   handled, half written or written but not confirmed: "nothing lost");
2. right after it has committed a batch whose offset it has not confirmed yet (its next
   getUpdates is held by the simulator), so the next run is sure to be sent updates whose
   events are already stored ("nothing twice": a redelivered batch must not count again).

The rest is streamed while the bot is down; a third run catches up and stops with SIGTERM. The
database must then hold every message event exactly once, and every member's count exactly.
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

from bot.app import RECORDED_UPDATES
from bot.domain.events import EventKind
from simulator import FaultKind, FloodLimits, Simulator
from storage.engine import create_engine
from storage.models import events_table, members_table

pytestmark = pytest.mark.slow

MESSAGES = 20_000
MEMBERS = 200
CHUNK = 100  # messages posted between two yields to the event loop
BACKLOG = 1_000  # while the bot runs, at most this many posted messages are not yet stored
KILL_AFTER = 3_000  # SIGKILL once the database holds more message events than this
START_TIMEOUT = 60.0  # first run: until KILL_AFTER events are stored
CATCH_UP_TIMEOUT = 120.0  # second run: until all 20,000 are stored and confirmed
STOP_TIMEOUT = 30.0
MESSAGE = EventKind.MESSAGE.value
HELD = "no answer (injected timeout)"  # how the simulator records a held getUpdates


@dataclass
class Stream:
    """What the test posted (message id -> sender) and what the database last held."""

    senders: dict[int, int] = field(default_factory=dict)
    stored: int = 0

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
    limit: float,
    bot: BotProcess,
    interval: float = 0.02,
) -> float:
    """Wait until `check()` holds; fail (with the bot's log) if it never does or the bot dies."""
    started = time.monotonic()
    deadline = started + limit
    while not await check():
        if not bot.running:
            pytest.fail(
                f"groupops exited ({bot.proc and bot.proc.returncode}) before {what}:\n"
                f"{bot.log_tail()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached in {limit}s\n{bot.log_tail()}")
        await asyncio.sleep(interval)
    return time.monotonic() - started


async def _message_events(engine: AsyncEngine, chat_id: int) -> int:
    e = events_table.c
    query = select(func.count()).where(e.chat_id == chat_id, e.kind == MESSAGE)
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def _stream(
    sim: Simulator,
    group: int,
    members: list[int],
    stream: Stream,
    unpaced: asyncio.Event,
) -> None:
    """Post MESSAGES messages, round robin over `members`, CHUNK at a time.

    While the bot runs, at most BACKLOG posted messages are not yet stored (as last counted),
    so the stream is still going when a kill comes, however fast the bot confirms updates; once
    `unpaced` is set (the bot is dead) the rest goes in at once.
    """
    i = 0
    while i < MESSAGES:
        if not unpaced.is_set() and stream.posted - stream.stored >= BACKLOG:
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


async def _stored_unconfirmed(engine: AsyncEngine, sim: Simulator, bot: int, group: int) -> int:
    """Message events already in the database whose update the simulator still holds.

    These are exactly the ones Telegram will redeliver to the next run.
    """
    head = sim.bot_state(bot).queue.peek(1)
    if not head or "message_id" not in head[0].payload:
        return 0
    e = events_table.c
    query = select(func.count()).where(
        e.chat_id == group, e.kind == MESSAGE, e.message_id >= head[0].payload["message_id"]
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def _in_flight(engine: AsyncEngine, sim: Simulator, bot: int, group: int) -> int:
    """Messages the bot had fetched with its last getUpdates but not stored when it died."""
    polls = [c for c in sim.calls(bot) if c.method == "getUpdates" and c.ok and c.result]
    if not polls:
        return 0
    ids = [u["message"]["message_id"] for u in polls[-1].result if "message" in u]
    e = events_table.c
    query = select(func.count()).where(e.chat_id == group, e.kind == MESSAGE, e.message_id.in_(ids))
    async with engine.connect() as connection:
        return len(ids) - int((await connection.execute(query)).scalar_one())


async def _lost(engine: AsyncEngine, sim: Simulator, bot: int, group: int, stream: Stream) -> int:
    """Messages the simulator counts as confirmed (offset passed) that are not in the database."""
    pending = [
        u.payload["message_id"]
        for u in sim.bot_state(bot).queue.peek(MESSAGES)
        if "message_id" in u.payload
    ]
    boundary = min(pending, default=max(stream.senders, default=0) + 1)
    e = events_table.c
    query = select(e.message_id).where(
        e.chat_id == group, e.kind == MESSAGE, e.message_id < boundary
    )
    async with engine.connect() as connection:
        stored_ids = set((await connection.execute(query)).scalars())
    return len({m for m in stream.senders if m < boundary} - stored_ids)


def _problems(run: BotProcess) -> list[str]:
    """ERROR lines and tracebacks in a run's log."""
    text = run.log_path.read_text(errors="replace") if run.log_path.exists() else ""
    return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]


def _held_polls(sim: Simulator, bot: int) -> int:
    return sum(1 for c in sim.calls(bot) if c.description == HELD)


async def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(
    db_url: str, tmp_path: Path
) -> None:
    db = db_url.split("+")[0]
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        bot = sim.create_bot(
            username="groupops_crash_bot",
            allowed_updates=[*RECORDED_UPDATES, "my_chat_member", "callback_query"],
        )
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
        runs = [BotProcess(env, tmp_path / f"run{n}.log", tmp_path) for n in (1, 2, 3)]
        stream = Stream()
        unpaced = asyncio.Event()
        streamer: asyncio.Task[None] | None = None
        async with _engine(db_url) as engine:

            async def stored() -> int:
                if streamer is not None and streamer.done():
                    streamer.result()  # a failing stream fails the test at once
                stream.stored = await _message_events(engine, group)
                return stream.stored

            async def start(run: BotProcess) -> float:
                def answered_polls() -> int:
                    return sum(1 for c in sim.calls(bot.id) if c.method == "getUpdates" and c.ok)

                polls = answered_polls()
                await run.start()

                async def polling() -> bool:  # start-up (and migration) is over by then
                    return answered_polls() > polls

                return await _wait_for(f"{run.log_path.stem} polls", polling, START_TIMEOUT, run)

            try:
                began = time.monotonic()
                # Run 1: SIGKILL at whatever point it is at once it has stored some messages.
                startup = await start(runs[0])
                streamer = asyncio.create_task(_stream(sim, group, members, stream, unpaced))

                async def some_stored() -> bool:
                    return await stored() > KILL_AFTER

                await _wait_for("run1 stores some messages", some_stored, START_TIMEOUT, runs[0])
                posted_1 = stream.posted
                assert await runs[0].kill() == -signal.SIGKILL
                stored_1 = await stored()
                exposed_1 = await _stored_unconfirmed(engine, sim, bot.id, group)
                in_flight_1 = await _in_flight(engine, sim, bot.id, group)
                print(
                    f"\n[{db}] run1 started in {startup:.1f}s, SIGKILL after "
                    f"{time.monotonic() - began:.1f}s: {stored_1} message events stored, "
                    f"{posted_1} posted, {in_flight_1} fetched but not stored, "
                    f"{exposed_1} stored but unconfirmed"
                )
                assert 0 < stored_1 < MESSAGES and posted_1 < MESSAGES, "kill 1 not mid-stream"
                lost = await _lost(engine, sim, bot.id, group, stream)
                assert lost == 0, f"run1 confirmed {lost} messages it had not stored"

                # Run 2, while the stream goes on: SIGKILL it once it has committed a batch
                # whose offset is not confirmed (see the module docstring, kill 2).
                await start(runs[1])

                async def more_stored() -> bool:
                    return await stored() > stored_1 + KILL_AFTER

                await _wait_for("run2 stores more messages", more_stored, START_TIMEOUT, runs[1])
                held = _held_polls(sim, bot.id)
                sim.inject_fault("getUpdates", FaultKind.TIMEOUT, bot_id=bot.id)

                async def poll_held() -> bool:
                    return _held_polls(sim, bot.id) > held

                await _wait_for("run2's next getUpdates is held", poll_held, 10, runs[1])
                posted_2 = stream.posted
                assert await runs[1].kill() == -signal.SIGKILL
                stored_2 = await stored()
                exposed_2 = await _stored_unconfirmed(engine, sim, bot.id, group)
                print(
                    f"[{db}] run2 SIGKILL with getUpdates held: {stored_2} message events "
                    f"stored, {posted_2} posted, {exposed_2} stored but unconfirmed"
                )
                assert stored_1 < stored_2 < MESSAGES and posted_2 < MESSAGES, (
                    "kill 2 not mid-stream"
                )
                lost = await _lost(engine, sim, bot.id, group, stream)
                assert lost == 0, f"run2 confirmed {lost} messages it had not stored"
                assert exposed_2 > 0, "no committed batch was left unconfirmed"

                # Both runs are dead: stream the rest.
                unpaced.set()
                await asyncio.wait_for(streamer, timeout=START_TIMEOUT)
                assert stream.posted == MESSAGES
                assert await stored() == stored_2

                # Run 3: catch up on everything, exactly once, then stop cleanly.
                restarted = time.monotonic()
                await start(runs[2])

                async def all_confirmed() -> bool:
                    return sim.updates_pending(bot.id) == 0

                await _wait_for(
                    "run3 confirms every update", all_confirmed, CATCH_UP_TIMEOUT, runs[2]
                )
                catch_up = time.monotonic() - restarted
                # An offset is confirmed only once its events are committed: all are stored.
                assert await stored() == MESSAGES
                exit_code = await runs[2].terminate()
                assert exit_code == 0, f"SIGTERM exit code {exit_code}\n{runs[2].log_tail()}"
                print(
                    f"[{db}] run3 caught up on {MESSAGES - stored_2} messages in "
                    f"{catch_up:.1f}s (start-up included); total {time.monotonic() - began:.1f}s"
                )
            finally:
                if streamer is not None and not streamer.done():
                    streamer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await streamer
                for run in runs:
                    await run.cleanup()

            assert not [(run.log_path.name, line) for run in runs for line in _problems(run)]
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
